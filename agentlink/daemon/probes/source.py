"""Where the probes read from: a tree of /proc, /sys, /dev and /run files under a root, and
(on a live machine only) the output of a few commands, with every file or command that could
not be read or understood reported, one `ProbeProblem` each, instead of raised.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls; reads are
synchronous and small (a file larger than `MAX_FILE_BYTES` is refused, not read whole). A
`Tree` rooted at `/` is the server itself; rooted elsewhere it is a copy of one (a fixture, a
dump from a customer's server), and then no command is run: its output would describe the
machine the agent runs on, not the one the tree came from.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol, TypedDict, TypeVar

T = TypeVar("T")

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Larger than any /proc or /sys file the probes read (a busy OST's job_stats is the largest)."""
COMMAND_TIMEOUT_S = 20.0
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
"""Commands are found on this PATH only, whatever the environment the agent was started in."""


class ProbeProblem(TypedDict):
    path: str
    """The file as the server names it (/proc/fs/lustre/version), or the command line run."""
    reason: str


class ParseError(ValueError):
    """A file's text is not the format its parser reads; the message says what is wrong and
    where (a line number), for a person to act on."""


class Tree:
    """Files under `root`, named by their absolute path on the server."""

    def __init__(self, root: Path = Path("/"), *, live: bool | None = None) -> None:
        self.root = root
        self.problems: list[ProbeProblem] = []
        self._live = live

    @property
    def is_live(self) -> bool:
        """The tree is this machine, so commands may be run to learn more (tests may say so
        of a tree they built, with commands of their own)."""
        return self.root.resolve() == Path("/") if self._live is None else self._live

    def local(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def note(self, path: str, reason: str) -> None:
        problem = ProbeProblem(path=path, reason=reason)
        if problem not in self.problems:
            self.problems.append(problem)

    def exists(self, path: str) -> bool:
        return self.local(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.local(path).is_dir()

    def entries(self, path: str) -> list[str]:
        """The names in a directory, sorted; none when it is missing or unreadable."""
        return self.listing(path, quiet=True) or []

    def listing(self, path: str, *, quiet: bool = False) -> list[str] | None:
        """The names in a directory, sorted, or None when it cannot be listed, noted as a
        problem unless `quiet`: for a directory whose every entry counts (a filesystem's OST
        pools), where an unreadable one must not pass for an empty one."""
        try:
            return sorted(os.listdir(self.local(path)))
        except OSError as error:
            if not quiet:
                self.note(path, f"cannot be listed: {error.strerror or error}")
            return None

    def link_target(self, path: str) -> str | None:
        """The last component of where a symlink points (by-id links, sysfs slaves)."""
        try:
            return PurePosixPath(os.readlink(self.local(path))).name
        except OSError:
            return None

    def text(self, path: str, *, required: bool = True) -> str | None:
        """The file's text, or None when it cannot be read as text. A missing file is a
        problem only when `required`; one that is binary, not UTF-8, too large or unreadable
        always is."""
        local = self.local(path)
        try:
            with local.open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            if required:
                self.note(path, "missing")
            return None
        except IsADirectoryError:
            self.note(path, "is a directory, not a file")
            return None
        except OSError as error:
            self.note(path, f"unreadable: {error.strerror or error}")
            return None
        if len(raw) > MAX_FILE_BYTES:
            self.note(path, f"larger than {MAX_FILE_BYTES:,} bytes; not read")
            return None
        if b"\0" in raw:
            self.note(path, "binary (it holds NUL bytes), not the text this file should be")
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            self.note(path, f"not UTF-8 text (a bad byte at offset {error.start})")
            return None

    def value(self, path: str) -> str | None:
        """A one-line sysfs value, stripped; None (silently) when absent or unreadable."""
        text = self.text(path, required=False)
        return None if text is None else text.strip()

    def parse(self, path: str, parser: Callable[[str], T], *, required: bool = True) -> T | None:
        """The file read by `parser`; a ParseError becomes this file's problem."""
        text = self.text(path, required=required)
        if text is None:
            return None
        return self.parse_text(path, text, parser)

    def parse_text(self, path: str, text: str, parser: Callable[[str], T]) -> T | None:
        try:
            return parser(text)
        except ParseError as error:
            self.note(path, str(error))
            return None


class Commands(Protocol):
    """Runs a read-only command and gives its output, or None (the reason noted in `tree`)."""

    def output(self, argv: Sequence[str], tree: Tree) -> str | None: ...


class NoCommands:
    """For a tree that is not this machine: commands are never run, and each that a probe
    wanted is noted once, so the report says what it lacks."""

    def output(self, argv: Sequence[str], tree: Tree) -> str | None:
        tree.note(" ".join(argv), "not run: the tree is not this machine (--root)")
        return None


class LiveCommands:
    """Runs commands on this machine as argument lists (never through a shell), with a
    timeout; a command that is not installed is not a problem (ZFS, multipath and LVM are
    optional), one that fails or hangs is."""

    def __init__(self, timeout_s: float = COMMAND_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    def output(self, argv: Sequence[str], tree: Tree) -> str | None:
        shown = " ".join(argv)
        try:
            done = subprocess.run(
                list(argv),
                capture_output=True,
                timeout=self.timeout_s,
                env={"PATH": SAFE_PATH, "LANG": "C", "LC_ALL": "C"},
                check=False,
            )
        except FileNotFoundError:
            return None
        except subprocess.TimeoutExpired:
            tree.note(shown, f"gave no answer within {self.timeout_s:g} s; stopped")
            return None
        except OSError as error:
            tree.note(shown, f"could not run: {error.strerror or error}")
            return None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            tree.note(shown, f"exited with {done.returncode}: {said[0] if said else 'no message'}")
            return None
        return done.stdout.decode("utf-8", "replace")
