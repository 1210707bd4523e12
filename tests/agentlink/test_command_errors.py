"""Known failures of the Lustre tools read as what they mean: the words an admin acts on come
first, and the command's own last line is kept after them as evidence; unknown failures pass
through as the command said them. Then through the dispatcher with a recording runner."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.daemon.command_errors import explain_failure
from agentlink.daemon.dispatch import ActionDispatcher, CommandResult, RecordingRunner
from agentlink.daemon.lustre_actions import command_lines
from agentlink.wire import Message, Op

# Messages as mount.lustre, mkfs.lustre, umount, lctl and modprobe print them.
CASES = [
    (
        ["mount", "-t", "lustre", "/dev/sdb", "/mnt/ost0"],
        5,
        "mount.lustre: mount /dev/sdb at /mnt/ost0 failed: Input/output error\n"
        "Is the MGS running?\n",
        "the MGS could not be reached",
    ),
    (
        ["mount", "-t", "lustre", "/dev/sdb", "/mnt/ost0"],
        16,
        "mount.lustre: mount /dev/sdb at /mnt/ost0 failed: Device or resource busy\n",
        "the device is busy",
    ),
    (
        ["mount", "-t", "lustre", "/dev/sdb", "/mnt/ost0"],
        98,
        "mount.lustre: mount /dev/sdb at /mnt/ost0 failed: Address already in use\n"
        "The target service's index is already in use. (/dev/sdb)\n",
        "the MGS already has a target with this index",
    ),
    (
        ["mount", "-t", "lustre", "/dev/sdb", "/mnt/ost0"],
        19,
        "mount.lustre: mount /dev/sdb at /mnt/ost0 failed: No such device\n"
        "Are the lustre modules loaded?\n",
        "the Lustre kernel modules are not loaded",
    ),
    (
        ["mkfs.lustre", "--ost", "--fsname=fs1", "--index=0", "--mgsnode=10.0.0.1@tcp", "/dev/sdb"],
        1,
        "mkfs.lustre FATAL: Device /dev/sdb was previously formatted for lustre. Use --reformat "
        "to reformat it, or tunefs.lustre to modify.\n",
        "the device already holds a Lustre target",
    ),
    (
        ["mkfs.lustre", "--mgs", "/dev/sdz"],
        2,
        "mkfs.lustre: Unable to open /dev/sdz: No such file or directory\n",
        "the device does not exist on this server",
    ),
    (
        ["tunefs.lustre", "--writeconf", "/dev/sdb"],
        16,
        "tunefs.lustre: /dev/sdb is already mounted\n",
        "the device is busy",
    ),
    (
        ["umount", "/mnt/ost0"],
        32,
        "umount: /mnt/ost0: target is busy.\n",
        "the mount point is still in use",
    ),
    (["umount", "/mnt/ost0"], 32, "umount: /mnt/ost0: not mounted.\n", "it is not mounted"),
    (
        ["lctl", "network", "down"],
        1,
        "LNET unconfigure error 16: Device or resource busy\n",
        "LNet is still in use",
    ),
    (
        ["lctl", "conf_param", "fs1.sys.timeout=40"],
        19,
        "error: conf_param: No such device\n",
        "this must run on the server where the MGS is mounted",
    ),
    (
        ["lctl", "pool_new", "fs1.fast"],
        17,
        "Pool fs1.fast already exists\npool_new: File exists\n",
        "a pool of this name already exists",
    ),
    (
        ["modprobe", "lnet"],
        1,
        "modprobe: FATAL: Module lnet not found in directory /lib/modules/5.14.0\n",
        "the Lustre kernel modules are not installed for the running kernel",
    ),
    (["mkfs.lustre", "--mgs", "/dev/sdb"], 127, "", "mkfs.lustre is not installed"),
]


@pytest.mark.parametrize(("argv", "code", "stderr", "meaning"), CASES)
def test_known_failures_are_explained(
    argv: list[str], code: int, stderr: str, meaning: str
) -> None:
    explanation = explain_failure(argv, code, stderr)
    assert explanation is not None and explanation.startswith(meaning)


def test_an_unknown_failure_is_not_guessed_at() -> None:
    assert explain_failure(["mount", "-t", "lustre", "/dev/sdb", "/mnt/x"], 1, "odd\n") is None
    assert explain_failure(["umount", "/mnt/x"], 1, "Device or resource busy\n") is None, (
        "umount's busy is told by its own words, not mount's"
    )
    assert explain_failure([], 1, "Device or resource busy") is None


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(["mount", "mkfs.lustre", "lctl", "umount", "x", "-"]), max_size=3),
    st.integers(-300, 300),
    st.text(max_size=80),
)
def test_any_failure_gives_a_sentence_or_nothing(argv: list[str], code: int, stderr: str) -> None:
    explanation = explain_failure(argv, code, stderr)
    assert explanation is None or (explanation and "\n" not in explanation)


def test_the_dispatcher_leads_with_the_meaning_and_keeps_the_evidence() -> None:
    stderr = (
        "mount.lustre: mount /dev/sdb at /mnt/fs1-OST0000 failed: Input/output error\n"
        "Is the MGS running?\n"
    )
    runner = RecordingRunner({"mount": CommandResult((), 5, stderr=stderr)})
    dispatcher = ActionDispatcher(runner)
    args = {"device": "/dev/sdb", "mount_point": "/mnt/fs1-OST0000"}
    answer = dispatcher.handle(
        Message(Op.REQUEST, 1, {"action_id": "a1", "action": "mount_target", "args": args})
    )
    assert isinstance(answer, dict), "a recording runner answers at once"
    report = answer
    assert [list(argv) for argv in runner.ran] == command_lines("mount_target", args)
    assert report["state"] == "failed"
    assert report["error"] == (
        "mount -t failed: the MGS could not be reached: check that the MGS target is mounted "
        "and that LNet is up on both servers (`lctl ping <MGS NID>` from this server). "
        "mount exited with 5: Is the MGS running?"
    )
    assert report["stderr"] == stderr, "everything the command said is kept"
