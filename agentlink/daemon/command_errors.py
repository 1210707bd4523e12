"""What a failed Lustre or Linux command means, in words an admin can act on: the known
messages of mount.lustre, mkfs.lustre, tunefs.lustre, umount, lctl, modprobe and the LNet
tools (device busy, already formatted, MGS unreachable, index in use, modules missing …).

Layer: agentlink.daemon (standard library only). Thread: any; pure functions. The dispatcher
puts the explanation before the command's own last line of stderr, which is kept as evidence,
so nothing the command said is lost. Matching is on the messages Lustre and util-linux print
(and the errno names strerror gives), never on exit codes alone: mount.lustre's exit code is
an errno, not a reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFailure:
    commands: tuple[str, ...]
    """argv[0] values this applies to (empty: any command)."""
    pattern: re.Pattern[str]
    explanation: str
    """May name `{device}` and `{target}`: the last argument and the mount point or fsname."""


def _known(commands: tuple[str, ...], pattern: str, explanation: str) -> KnownFailure:
    return KnownFailure(commands, re.compile(pattern, re.IGNORECASE), explanation)


_MOUNTS = ("mount", "mount.lustre")
_FORMATS = ("mkfs.lustre", "tunefs.lustre")
KNOWN_FAILURES = (
    _known(
        _MOUNTS,
        r"Is the MGS running\?|MGS.*(unreachable|not running)|"
        r"Communicating with \S+, rc = -(110|107|113|111|5)\b",
        "the MGS could not be reached: check that the MGS target is mounted and that LNet is "
        "up on both servers (`lctl ping <MGS NID>` from this server)",
    ),
    _known(
        _MOUNTS,
        r"index is already in use|Address already in use",
        "the MGS already has a target with this index: this device was formatted with an "
        "index another target holds; reformat it with a free index, or writeconf if this is "
        "the same target moved",
    ),
    _known(
        _MOUNTS,
        r"Are the lustre modules loaded\?|unknown filesystem type 'lustre'|No such device\s*$",
        "the Lustre kernel modules are not loaded on this server: load LNet and Lustre "
        "(`modprobe lustre`) and check they match the running kernel",
    ),
    _known(
        _MOUNTS,
        r"Operation already in progress|target service is already running",
        "this target is already running (or being started) on this server",
    ),
    _known(
        _MOUNTS + _FORMATS,
        r"Device or resource busy|is already mounted|apparently in use by the system|"
        r"already mounted or .* busy",
        "the device is busy: it is mounted or held open here (or by another server "
        "sharing it); check `mount` and `lsof`, and on shared storage the partner server, "
        "before trying again",
    ),
    _known(
        _FORMATS,
        r"previously formatted for lustre|Use --reformat",
        "the device already holds a Lustre target; formatting it again erases that target "
        "and its data, so it is done only when reformat is asked for",
    ),
    _known(
        _FORMATS,
        r"No such file or directory|can't open .* No such|does not exist",
        "the device does not exist on this server: check the path (multipath and LVM "
        "devices appear only once their maps are active)",
    ),
    _known(
        _FORMATS,
        r"(Read-only file system|is write-protected)",
        "the device is read-only on this server",
    ),
    _known(
        ("umount",),
        r"target is busy|device is busy",
        "the mount point is still in use (a process has files open under it); stop the "
        "processes using it, or unmount with force, which evicts clients",
    ),
    _known(("umount",), r"not mounted", "it is not mounted on this server"),
    _known(
        ("lctl",),
        r"(LNET unconfigure error|network down).*(16|busy)|LNet.*busy",
        "LNet is still in use: Lustre targets or clients are mounted here; stop them first",
    ),
    _known(
        ("lctl",),
        r"conf_param.*(No such device|runs no MGS)|set_param -P.*(No such device|not the MGS)|"
        r"erase_lcfg.*No such device",
        "this must run on the server where the MGS is mounted",
    ),
    _known(
        ("lctl",),
        r"pool_new.*File exists|pool .* already exists",
        "a pool of this name already exists in this filesystem",
    ),
    _known(
        ("lctl",),
        r"pool_(add|remove|destroy).*(No such file|not found|does not exist)",
        "no pool of this name exists in this filesystem",
    ),
    _known(
        ("lctl",),
        r"erase_lcfg.*(Device or resource busy|busy)",
        "the filesystem is still running: stop its MDTs and OSTs before erasing its logs",
    ),
    _known(
        ("lctl", "lnetctl"),
        r"LNet .*not (loaded|configured)|No such device.*(lnet|network)|"
        r"Can't get.*LNet|LNET_CONFIGURE.*failed",
        "LNet is not loaded or not up on this server: load it and bring it up first",
    ),
    _known(
        ("modprobe",),
        r"Module \S+ not found|could not find module",
        "the Lustre kernel modules are not installed for the running kernel (is the server "
        "booted into the Lustre kernel?)",
    ),
    _known(
        ("lustre_rmmod", "rmmod"),
        r"is in use|Resource temporarily unavailable|busy",
        "the modules are still in use: unmount every Lustre target and client first",
    ),
)


def explain_failure(argv: Sequence[str], exit_code: int, stderr: str) -> str | None:
    """What `argv`'s failure means, or None when its message is not a known one."""
    if not argv:
        return None
    program = argv[0].rsplit("/", 1)[-1]
    if exit_code == 127 and (
        "not found" in stderr or "No such file" in stderr or not stderr.strip()
    ):
        return f"{program} is not installed on this server (or not on the agent's PATH)"
    joined = " ".join(argv)
    said = f"{joined}\n{stderr}"
    for known in KNOWN_FAILURES:
        if known.commands and program not in known.commands:
            continue
        # Most patterns are matched on stderr only; the lctl ones also need the subcommand.
        text = said if program in ("lctl", "lnetctl") else stderr
        if known.pattern.search(text):
            return known.explanation
    return None
