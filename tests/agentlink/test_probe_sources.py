"""Where the probes read from: files that cannot be read as text are named with the reason, and
the read-only commands of a live server run as argument lists, their failures named too."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlink.daemon.probes import source
from agentlink.daemon.probes.source import LiveCommands, NoCommands, Tree


def test_files_that_are_not_text_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 16)
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/big").write_text("x" * 17)
    (tmp_path / "proc/dir").mkdir()
    (tmp_path / "proc/ok").write_text("fine\n")
    tree = Tree(tmp_path)
    assert tree.text("/proc/big") is None
    assert tree.text("/proc/dir") is None
    assert tree.text("/proc/absent", required=False) is None
    assert tree.text("/proc/ok") == "fine\n"
    assert tree.problems == [
        {"path": "/proc/big", "reason": "larger than 16 bytes; not read"},
        {"path": "/proc/dir", "reason": "is a directory, not a file"},
    ]


def test_a_tree_elsewhere_runs_no_command(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    assert not tree.is_live and Tree(Path("/")).is_live
    assert NoCommands().output(["dmsetup", "table"], tree) is None
    assert tree.problems == [
        {"path": "dmsetup table", "reason": "not run: the tree is not this machine (--root)"}
    ]


def test_live_commands_give_output_or_name_their_failure(tmp_path: Path) -> None:
    tree = Tree(Path("/"))
    commands = LiveCommands(timeout_s=5)
    assert commands.output(["sh", "-c", "echo out; echo noise >&2"], tree) == "out\n"
    assert commands.output(["no-such-tool-anywhere"], tree) is None
    assert (
        commands.output(["sh", "-c", "echo first >&2; echo last words >&2; exit 3"], tree) is None
    )
    assert tree.problems == [
        {
            "path": "sh -c echo first >&2; echo last words >&2; exit 3",
            "reason": "exited with 3: last words",
        }
    ], "a tool that is not installed is no problem (ZFS, multipath are optional)"
    slow = LiveCommands(timeout_s=0.2)
    assert slow.output(["sleep", "5"], tree) is None
    assert tree.problems[-1] == {
        "path": "sleep 5",
        "reason": "gave no answer within 0.2 s; stopped",
    }
