"""The backend of `chroma-agent serve` on a real server: runs commands as processes and reads the
machine's state from /sys and /proc.

Layer: agentlink.daemon (imports nothing of core). Thread: the agent's reactor thread; commands
run as child processes whose output the reactor collects, and the observers read small files
from /sys and /proc, which does not block for long. This is the first cut: block devices with
their sizes and stable paths, LNet's state and the mounted Lustre targets. Serial numbers,
multipath, LVM, Lustre statistics and syslog forwarding belong to the agent's real-backend issue;
until then `collect` reports nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from twisted.internet import defer, protocol
from twisted.python.failure import Failure

from agentlink.daemon.backend import DeviceRecord, LustreState, MountRecord, Record
from agentlink.daemon.dispatch import CommandResult

SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
"""Commands are found on this PATH only, whatever the environment the agent was started in."""
_SKIPPED_DEVICES = ("ram", "loop", "fd", "sr", "zram")


class _Collector(protocol.ProcessProtocol):
    """Collects one command's output and how it ended (its exit code, or 128 + the signal)."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.running = True
        self.answer: defer.Deferred[CommandResult] | None = None

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def processEnded(self, reason: Failure) -> None:
        self.running = False
        ended = reason.value
        signal = getattr(ended, "signal", None)
        code = getattr(ended, "exitCode", None)
        err = _text(b"".join(self.err))
        if signal is not None:
            code, err = 128 + int(signal), err + f"\nkilled by signal {signal}"
        result = CommandResult(self.command, int(code or 0), _text(b"".join(self.out)), err)
        if self.answer is not None and not self.answer.called:  # not already cancelled
            self.answer.callback(result)


class LocalHost:
    def __init__(self, hostname: str, root: Path = Path("/"), reactor: Any = None) -> None:
        self._hostname = hostname
        self.root = root
        """Where /sys and /proc are found (a directory of fixtures in tests)."""
        self.reactor = reactor

    @property
    def hostname(self) -> str:
        return self._hostname

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]:
        """Run `argv` as a child process; cancelling the answer sends it SIGTERM."""
        command = tuple(argv)
        collector = _Collector(command)
        try:
            process = self._reactor().spawnProcess(
                collector,
                command[0],
                list(command),
                env={"PATH": SAFE_PATH, "LANG": "C"},
            )
        except OSError as error:
            return defer.succeed(CommandResult(command, 127, "", f"{command[0]}: {error}"))

        def stop(_: object) -> None:
            if collector.running:
                process.signalProcess("TERM")

        collector.answer = defer.Deferred(stop)
        return collector.answer

    def _reactor(self) -> Any:
        if self.reactor is not None:
            return self.reactor
        from twisted.internet import reactor

        return reactor

    def devices(self) -> list[DeviceRecord]:
        block = self.root / "sys" / "block"
        by_id = _stable_names(self.root / "dev" / "disk" / "by-id")
        found: list[DeviceRecord] = []
        for entry in sorted(block.iterdir()) if block.is_dir() else []:
            name = entry.name
            if name.startswith(_SKIPPED_DEVICES):
                continue
            sectors = _read_int(entry / "size")
            if not sectors or _read_int(entry / "ro") == 1:
                continue
            found.append(
                DeviceRecord(
                    path=by_id.get(name, f"/dev/{name}"),
                    serial=_read(entry / "device" / "serial") or name,
                    size_bytes=sectors * 512,
                    major_minor=_read(entry / "dev"),
                    filesystem=None,
                    label=None,
                )
            )
        return found

    def lustre_state(self) -> LustreState:
        proc = self.root / "proc"
        modules = _read(proc / "modules")
        loaded = any(line.split(" ", 1)[0] == "lnet" for line in modules.splitlines())
        up = loaded and (proc / "sys" / "lnet" / "nis").exists()
        lnet: Literal["unloaded", "loaded", "up"] = (
            "up" if up else "loaded" if loaded else "unloaded"
        )
        nids = [
            fields[0]
            for fields in (
                line.split() for line in _read(proc / "sys" / "lnet" / "nis").splitlines()[1:]
            )
            if fields and fields[0] != "0@lo"
        ]
        mounts = [
            MountRecord(
                label="",  # read with blkid by the real backend (its own issue)
                device=fields[0],
                mount_point=fields[1],
                recovery="COMPLETE",
            )
            for fields in (line.split() for line in _read(proc / "mounts").splitlines())
            if len(fields) >= 3 and fields[2] == "lustre"
        ]
        # The MGS's permanent parameters and each target's MGS NIDs are left out until the real
        # backend reads them (`lctl get_param`, the targets' mount data): its own issue, like
        # the labels. The desktop then judges no settings and finds MGSs by other means.
        return LustreState(lnet=lnet, nids=nids, mounts=mounts, boot_time=_boot_time(proc))

    def collect(self, now: float) -> list[Record]:
        return []


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _read_int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text.isdigit() else None


def _stable_names(by_id: Path) -> dict[str, str]:
    """Kernel name → its /dev/disk/by-id path, preferring the first name in sorted order."""
    names: dict[str, str] = {}
    for link in sorted(by_id.iterdir()) if by_id.is_dir() else []:
        target = os.path.basename(os.readlink(link)) if link.is_symlink() else ""
        if target and target not in names:
            names[target] = f"/dev/disk/by-id/{link.name}"
    return names


def _boot_time(proc: Path) -> float:
    for line in _read(proc / "stat").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    uptime = _read(proc / "uptime").split()
    return time.time() - float(uptime[0]) if uptime else 0.0
