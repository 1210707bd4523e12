"""How the simulated tools read their argument lists and what their output looks like.

Layer: agentlink.simulator (standard library only). Thread: any; pure functions. The parsers
take the argument lists the real agent builds (`agentlink.daemon.lustre_actions`) and the
spellings an admin would type, and raise `Refusal` with the tool's own usage message for
anything else (`NotUnderstood` when the simulator, not the tool, is the limit). The text
builders write output in the layout of mkfs.lustre, dumpe2fs and blkid, so a parser written
against the simulator also reads the real tools.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from agentlink.simulator.model import KIB, LustreTarget, TargetKind

LUSTRE_VERSION: Final = "2.15.5"
E2FSPROGS_VERSION: Final = "dumpe2fs 1.47.1-wc1 (14-Jun-2024)"
KERNEL_RELEASE: Final = "4.18.0-553.5.1.el8_lustre.x86_64"

ENOENT: Final = 2
EIO: Final = 5
EBUSY: Final = 16
EEXIST: Final = 17
ENODEV: Final = 19
EINVAL: Final = 22
ENOSPC: Final = 28
ENOTEMPTY: Final = 39
EADDRINUSE: Final = 98
ENETDOWN: Final = 100
EALREADY: Final = 114

STRERROR: Final = {
    ENOENT: "No such file or directory",
    EIO: "Input/output error",
    EBUSY: "Device or resource busy",
    EEXIST: "File exists",
    ENODEV: "No such device",
    EINVAL: "Invalid argument",
    ENOSPC: "No space left on device",
    ENOTEMPTY: "Directory not empty",
    EADDRINUSE: "Address already in use",
    ENETDOWN: "Network is down",
    EALREADY: "Operation already in progress",
}

MOUNT_FAILURE: Final = 32
"""util-linux mount and umount exit with 32 when a mount or unmount failed."""
COMMAND_NOT_FOUND: Final = 127


class Refusal(Exception):
    """A command that ends with a non-zero exit code and the tool's own error output."""

    def __init__(self, exit_code: int, stderr: str, stdout: str = "") -> None:
        super().__init__(stderr.strip())
        self.exit_code = exit_code
        self.stderr = stderr if stderr.endswith("\n") or not stderr else stderr + "\n"
        self.stdout = stdout


class NotUnderstood(Refusal):
    """An argument list the simulator does not model (the real tool might accept it)."""


# --- mkfs.lustre -------------------------------------------------------------------------------

MKFS_USAGE: Final = (
    "usage: mkfs.lustre <target type> [--backfstype=ldiskfs] --fsname=<filesystem name>\n"
    "\t--index=<target index> [options] <device>\n"
)
_KIND_OPTIONS: Final = {"--mgs": TargetKind.MGT, "--mdt": TargetKind.MDT, "--ost": TargetKind.OST}


@dataclass(frozen=True)
class MkfsRequest:
    kind: TargetKind
    device: str
    fsname: str | None = None
    index: int | None = None
    mgs_nids: tuple[tuple[str, ...], ...] = ()
    service_nids: tuple[tuple[str, ...], ...] = ()
    failover_nids: tuple[tuple[str, ...], ...] = ()
    inode_size: int | None = None
    bytes_per_inode: int | None = None
    inode_count: int | None = None
    params: tuple[str, ...] = ()
    reformat: bool = False
    replace: bool = False
    dryrun: bool = False


def _nid_group(value: str) -> tuple[str, ...]:
    return tuple(nid for nid in value.split(",") if nid)


def _nid_groups(value: str) -> list[tuple[str, ...]]:
    """`a,b:c` is two hosts: (a, b) and (c,)."""
    return [_nid_group(host) for host in value.split(":") if host]


def parse_mkfs(argv: Sequence[str]) -> MkfsRequest:
    kinds: set[TargetKind] = set()
    values: dict[str, str] = {}
    mgs: list[tuple[str, ...]] = []
    service: list[tuple[str, ...]] = []
    failover: list[tuple[str, ...]] = []
    params: list[str] = []
    flags: set[str] = set()
    devices: list[str] = []
    for word in argv[1:]:
        name, has_value, value = word.partition("=")
        if word in _KIND_OPTIONS:
            kinds.add(_KIND_OPTIONS[word])
        elif word in ("--reformat", "--replace", "--dryrun", "--quiet", "--verbose"):
            flags.add(word)
        elif has_value and name in ("--fsname", "--index", "--mkfsoptions", "--backfstype"):
            values[name] = value
        elif has_value and name == "--mgsnode":
            mgs.extend(_nid_groups(value))
        elif has_value and name == "--servicenode":
            service.extend(_nid_groups(value))
        elif has_value and name == "--failnode":
            failover.extend(_nid_groups(value))
        elif has_value and name == "--param":
            params.append(value)
        elif word.startswith("-"):
            raise NotUnderstood(EINVAL, f"mkfs.lustre: unrecognized option '{word}'\n{MKFS_USAGE}")
        else:
            devices.append(word)
    if len(devices) != 1:
        raise Refusal(EINVAL, f"mkfs.lustre: Bad arguments\n{MKFS_USAGE}")
    if not kinds:
        raise Refusal(EINVAL, "mkfs.lustre FATAL: must set target type: MDT,OST,MGS\n")
    if len(kinds) > 1:
        raise NotUnderstood(
            EINVAL,
            "mkfs.lustre FATAL: the cluster simulator does not model combined MGS/MDT targets; "
            "format a separate MGT\n",
        )
    if values.get("--backfstype", "ldiskfs") != "ldiskfs":
        raise NotUnderstood(
            EINVAL, f"mkfs.lustre FATAL: backing fs type {values['--backfstype']} not simulated\n"
        )
    if service and failover:
        raise Refusal(EINVAL, "mkfs.lustre FATAL: --servicenode and --failnode can't be mixed\n")
    (kind,) = kinds
    index: int | None = None
    if "--index" in values:
        try:
            index = int(values["--index"], 0)
        except ValueError:
            raise Refusal(
                EINVAL, f"mkfs.lustre FATAL: invalid index '{values['--index']}'\n"
            ) from None
    fsname = values.get("--fsname")
    if kind != TargetKind.MGT:
        fsname = fsname or "lustre"  # mkfs.lustre's own default
        if not mgs:
            raise Refusal(EINVAL, "mkfs.lustre FATAL: Must specify --mgs or --mgsnode\n")
    elif index is not None:
        raise Refusal(EINVAL, "mkfs.lustre FATAL: an MGS has no index\n")
    sizes = _mkfs_options(values.get("--mkfsoptions", ""))
    return MkfsRequest(
        kind=kind,
        device=devices[0],
        fsname=fsname,
        index=index,
        mgs_nids=tuple(mgs),
        service_nids=tuple(service),
        failover_nids=tuple(failover),
        inode_size=sizes.get("-I"),
        bytes_per_inode=sizes.get("-i"),
        inode_count=sizes.get("-N"),
        params=tuple(params),
        reformat="--reformat" in flags,
        replace="--replace" in flags,
        dryrun="--dryrun" in flags,
    )


def _mkfs_options(text: str) -> dict[str, int]:
    """-I, -i and -N from --mkfsoptions; mke2fs's other options change nothing simulated."""
    words = text.split()
    found: dict[str, int] = {}
    for option, value in zip(words, [*words[1:], ""], strict=False):
        if option in ("-I", "-i", "-N"):
            try:
                found[option] = int(value)
            except ValueError:
                raise Refusal(
                    EINVAL, f"mke2fs: invalid argument '{value}' for {option}\n"
                ) from None
    return found


def default_geometry(kind: TargetKind, size_bytes: int) -> tuple[int, int]:
    """(inode size, bytes per inode) as mkfs.lustre chooses them for ldiskfs."""
    if kind == TargetKind.MDT:
        return 1024, 2560
    if kind == TargetKind.OST:
        return 512, 1024 * 1024 if size_bytes > 1024**4 else 64 * 1024
    return 512, 16 * 1024


def _flags(target: LustreTarget, servicenode: bool) -> tuple[int, str]:
    bits = {TargetKind.MDT: 0x1, TargetKind.OST: 0x2, TargetKind.MGT: 0x4}[target.kind]
    names = [target.kind.value if target.kind != TargetKind.MGT else "MGS"]
    if target.index is None and target.kind != TargetKind.MGT:
        bits |= 0x10
        names.append("needs_index")
    bits |= 0x20 | 0x40
    names += ["first_time", "update"]
    if servicenode:
        bits |= 0x1000
        names.append("no_primnode")
    return bits, " ".join(names)


def _parameters(request: MkfsRequest) -> str:
    parts: list[str] = []
    if request.mgs_nids:
        parts.append("mgsnode=" + ":".join(",".join(group) for group in request.mgs_nids))
    failover = request.service_nids or request.failover_nids
    if failover:
        parts.append("failover.node=" + ":".join(",".join(group) for group in failover))
    parts.extend(request.params)
    return " ".join(parts)


def mkfs_report(
    request: MkfsRequest, target: LustreTarget, size_bytes: int, kernel_device: str
) -> str:
    """What mkfs.lustre prints on success (or with --dryrun, up to the mkfs command)."""
    bits, names = _flags(target, bool(request.service_nids))
    size_kb = size_bytes // KIB
    bytes_per_inode = max(1, size_bytes // max(1, target.inode_count))
    options = (
        f"-J size={min(4096, max(4, size_kb // 1024 // 64))} -I {target.inode_size} "
        f"-i {bytes_per_inode} -q -O extents,uninit_bg,mmp,dir_nlink,quota,huge_file,flex_bg "
        f'-G 256 -E lazy_journal_init="0",lazy_itable_init="0" -F'
    )
    lines = [
        "",
        "   Permanent disk data:",
        f"Target:     {target.label}",
        f"Index:      {'unassigned' if target.index is None else target.index}",
        f"Lustre FS:  {target.fsname or ''}",
        "Mount type: ldiskfs",
        f"Flags:      {bits:#x}",
        f"              ({names} )",
        "Persistent mount opts: user_xattr,errors=remount-ro",
        f"Parameters: {_parameters(request)}",
        "",
    ]
    if request.dryrun:
        lines.append("exiting before disk write.")
        return "\n".join(lines) + "\n"
    lines += [
        f"device size = {size_bytes // (1024 * 1024)}MB",
        f"formatting backing filesystem ldiskfs on /dev/{kernel_device}",
        f"\ttarget name   {target.label}",
        f"\tkilobytes     {size_kb}",
        f"\toptions        {options}",
        f"mkfs_cmd = mke2fs -j -b 4096 -L {target.label}  {options} /dev/{kernel_device} "
        f"{size_kb}k",
        "Writing CONFIGS/mountdata",
    ]
    return "\n".join(lines) + "\n"


def dumpe2fs_header(target: LustreTarget, size_bytes: int, mount_point: str | None) -> str:
    """`dumpe2fs -h`: the superblock of the ldiskfs under a target."""
    block_count = size_bytes // 4096
    kbytes_total = target.kbytes_total(size_bytes)
    free_blocks = max(0, (kbytes_total - target.used_kb) // 4)
    lines = [
        ("Filesystem volume name", target.label),
        ("Last mounted on", mount_point or "/"),
        ("Filesystem UUID", target.uuid),
        ("Filesystem magic number", "0xEF53"),
        ("Filesystem revision #", "1 (dynamic)"),
        (
            "Filesystem features",
            "has_journal ext_attr resize_inode dir_index filetype mmp flex_bg sparse_super "
            "large_file huge_file uninit_bg dir_nlink quota",
        ),
        ("Filesystem flags", "signed_directory_hash "),
        ("Default mount options", "user_xattr acl"),
        ("Filesystem state", "clean"),
        ("Errors behavior", "Continue"),
        ("Filesystem OS type", "Linux"),
        ("Inode count", str(target.inode_count)),
        ("Block count", str(block_count)),
        ("Reserved block count", "0"),
        ("Free blocks", str(free_blocks)),
        ("Free inodes", str(max(0, target.inode_count - target.used_inodes))),
        ("First block", "0"),
        ("Block size", "4096"),
        ("Fragment size", "4096"),
        ("Reserved GDT blocks", "1024"),
        ("Blocks per group", "32768"),
        ("Inodes per group", str(max(1, target.inode_count * 32768 // max(1, block_count)))),
        ("Flex block group size", "256"),
        ("Reserved blocks uid", "0 (user root)"),
        ("Reserved blocks gid", "0 (group root)"),
        ("First inode", "11"),
        # dumpe2fs really does put a tab after this one.
        ("Inode size:\t", str(target.inode_size)),
        ("Journal inode", "8"),
        ("Default directory hash", "half_md4"),
        ("Journal backup", "inode blocks"),
        ("MMP block number", "9734"),
        ("MMP update interval", "5"),
    ]
    out = []
    for key, value in lines:
        if key.endswith("\t"):
            out.append(f"{key}          {value}")
        else:
            out.append(f"{key + ':':<26}{value}")
    return "\n".join(out) + "\n\n"


# --- mount, umount, blkid ----------------------------------------------------------------------


@dataclass(frozen=True)
class MountRequest:
    fstype: str | None
    options: tuple[str, ...]
    source: str
    mount_point: str

    @property
    def is_client(self) -> bool:
        """A client mount names MGS NIDs and a filesystem (`10.0.0.1@tcp:/fs1`), not a device."""
        return ":/" in self.source


MOUNT_USAGE: Final = (
    "Usage:\n mount [-lhV]\n mount -a [options]\n mount [options] <source> <directory>\n"
)


def parse_mount(argv: Sequence[str]) -> MountRequest:
    fstype: str | None = None
    options: list[str] = []
    positional: list[str] = []
    words = iter(argv[1:])
    for word in words:
        if word in ("-t", "-o"):
            value = next(words, None)
            if value is None:
                raise Refusal(1, f"mount: option requires an argument -- '{word[1]}'\n")
            if word == "-t":
                fstype = value
            else:
                options.extend(value.split(","))
        elif word.startswith("-"):
            raise NotUnderstood(1, f"mount: unrecognized option '{word}'\n{MOUNT_USAGE}")
        else:
            positional.append(word)
    if len(positional) != 2:
        raise NotUnderstood(1, f"mount: bad usage\n{MOUNT_USAGE}")
    if fstype != "lustre":
        raise NotUnderstood(
            MOUNT_FAILURE, f"mount: {positional[1]}: unknown filesystem type '{fstype}'.\n"
        )
    return MountRequest(fstype, tuple(options), positional[0], positional[1])


def parse_client_source(source: str) -> tuple[list[str], str]:
    """`10.0.0.1@tcp0,10.1.0.1@o2ib:10.0.0.2@tcp0:/fs1` → (every MGS NID, "fs1")."""
    hosts, _, fsname = source.rpartition(":/")
    nids = [nid for host in hosts.split(":") for nid in host.split(",") if nid]
    return nids, fsname


@dataclass(frozen=True)
class UmountRequest:
    mount_point: str
    force: bool


def parse_umount(argv: Sequence[str]) -> UmountRequest:
    flags = [word for word in argv[1:] if word.startswith("-")]
    positional = [word for word in argv[1:] if not word.startswith("-")]
    unknown = [flag for flag in flags if flag not in ("-f", "-l")]
    if unknown or len(positional) != 1:
        raise NotUnderstood(
            MOUNT_FAILURE,
            "Usage:\n umount [-hV]\n umount -a [options]\n umount [options] "
            "<source> | <directory>\n",
        )
    return UmountRequest(positional[0], "-f" in flags)


@dataclass(frozen=True)
class BlkidRequest:
    value_only: bool
    tags: tuple[str, ...]
    devices: tuple[str, ...]


def parse_blkid(argv: Sequence[str]) -> BlkidRequest:
    value_only = False
    tags: list[str] = []
    devices: list[str] = []
    words = iter(argv[1:])
    for word in words:
        if word in ("-c", "-o", "-s"):
            value = next(words, None)
            if value is None:
                raise Refusal(4, f"blkid: option requires an argument -- '{word[1]}'\n")
            if word == "-o":
                if value not in ("value", "full"):
                    raise NotUnderstood(4, f"blkid: unsupported output format {value}\n")
                value_only = value == "value"
            elif word == "-s":
                tags.append(value)
        elif word.startswith("-"):
            raise NotUnderstood(4, f"blkid: invalid option -- '{word.lstrip('-')}'\n")
        else:
            devices.append(word)
    if not devices:
        raise NotUnderstood(4, "blkid: the simulator only answers for named devices\n")
    return BlkidRequest(value_only, tuple(tags), tuple(devices))


def blkid_answer(request: BlkidRequest, device: str, tags: dict[str, str]) -> str:
    wanted = [(tag, tags[tag]) for tag in (request.tags or tuple(tags)) if tag in tags]
    if not wanted:
        return ""
    if request.value_only:
        return "".join(f"{value}\n" for _, value in wanted)
    return f"{device}: " + " ".join(f'{tag}="{value}"' for tag, value in wanted) + "\n"


# --- mkdir, rmdir ------------------------------------------------------------------------------


def make_directories(argv: Sequence[str], directories: Iterable[str]) -> list[str]:
    """The directories after `mkdir [-p] DIR...`."""
    flags = [w for w in argv[1:] if w.startswith("-")]
    paths = [posixpath.normpath(w) for w in argv[1:] if not w.startswith("-")]
    if [f for f in flags if f not in ("-p", "--parents")] or not paths:
        raise NotUnderstood(1, "mkdir: the simulator only knows mkdir [-p] DIRECTORY...\n")
    made = set(directories)
    for path in paths:
        if not path.startswith("/"):
            raise NotUnderstood(1, f"mkdir: {path}: the simulator has no working directory\n")
        if flags:
            parts = path.strip("/").split("/")
            made.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
        elif path in made:
            raise Refusal(1, f"mkdir: cannot create directory '{path}': File exists\n")
        elif posixpath.dirname(path) not in made:
            raise Refusal(
                1, f"mkdir: cannot create directory '{path}': No such file or directory\n"
            )
        else:
            made.add(path)
    return sorted(made)


def remove_directories(
    argv: Sequence[str], directories: Iterable[str], busy: set[str]
) -> list[str]:
    """The directories after `rmdir [--ignore-fail-on-non-empty] DIR...`; `busy` are mounted."""
    flags = [w for w in argv[1:] if w.startswith("-")]
    paths = [posixpath.normpath(w) for w in argv[1:] if not w.startswith("-")]
    if [f for f in flags if f != "--ignore-fail-on-non-empty"] or not paths:
        raise NotUnderstood(1, "rmdir: the simulator only knows rmdir DIRECTORY...\n")
    left = set(directories)
    for path in paths:
        if path in busy:
            raise Refusal(1, f"rmdir: failed to remove '{path}': Device or resource busy\n")
        if path not in left:
            raise Refusal(1, f"rmdir: failed to remove '{path}': No such file or directory\n")
        if any(d.startswith(path + "/") for d in left):
            if flags:
                continue
            raise Refusal(1, f"rmdir: failed to remove '{path}': Directory not empty\n")
        left.discard(path)
    return sorted(left)


# --- injected failures -------------------------------------------------------------------------


def io_error(command: Sequence[str]) -> tuple[int, str]:
    """(exit code, stderr) of a command whose storage failed under it."""
    name = command[0] if command else ""
    last = command[-1] if command else ""
    if name == "mkfs.lustre":
        return EIO, (
            f"mkfs.lustre FATAL: Unable to build fs {last} (5)\n"
            "mkfs.lustre: exiting with 5 (Input/output error)\n"
        )
    if name == "mount" and len(command) > 2:
        return EIO, (f"mount.lustre: mount {command[-2]} at {last} failed: Input/output error\n")
    if name == "umount":
        return MOUNT_FAILURE, f"umount: {last}: target is busy.\n"
    if name == "blkid":
        return 2, ""  # blkid says nothing when it cannot read a device
    if name == "dumpe2fs":
        return 1, (
            f"{E2FSPROGS_VERSION}\ndumpe2fs: Attempt to read block from filesystem resulted in "
            f"short read while trying to open {last}\nCouldn't find valid filesystem superblock.\n"
        )
    messages = {
        "modprobe": f"modprobe: ERROR: could not insert '{last}': Input/output error\n",
        "lustre_rmmod": "rmmod: ERROR: Module ptlrpc is in use\n",
        "mkdir": f"mkdir: cannot create directory '{last}': Input/output error\n",
        "rmdir": f"rmdir: failed to remove '{last}': Input/output error\n",
    }
    if name == "lctl" and len(command) > 1:
        return 1, f"error: {command[1].lstrip('-')}: Input/output error\n"
    return 1, messages.get(name, f"{name}: Input/output error\n")
