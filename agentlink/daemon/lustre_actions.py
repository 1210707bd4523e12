"""The server agent's catalogue of actions that run Lustre and Linux commands, as pure functions
that check an action's arguments and build the argument lists the agent runs, in order. Layer:
agentlink.daemon (standard library only: the agent ships to servers without core, the database or
Qt). Thread: any; nothing here runs a command, touches a file or keeps state. Every value an admin
supplied is checked against a rule before it reaches an argument list, and none may begin with
'-', so that no value can be read as an option; a broken rule raises `ActionArgumentError`
naming the action, the argument and the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NoReturn

__all__ = [
    "ACTIONS",
    "ActionArgumentError",
    "ActionSpec",
    "UnknownActionError",
    "command_lines",
    "read_result",
]

CommandLines = list[list[str]]
Builder = Callable[[Mapping[str, Any]], CommandLines]
Reader = Callable[[list[str]], dict[str, Any]]


class ActionArgumentError(ValueError):
    """An action's argument breaks a rule; the message names the action, argument and rule."""

    def __init__(self, action: str, argument: str, rule: str, *, got: object = None) -> None:
        self.action = action
        self.argument = argument
        self.rule = rule
        message = f"{action}: argument {argument!r} {rule}"
        if got is not None:
            message += f" (got {_shown(got)})"
        super().__init__(message)


class UnknownActionError(KeyError):
    """The agent has no action of this name; the message lists the ones it has."""

    def __init__(self, action: object) -> None:
        self.action = action
        self.message = (
            f"unknown action {_shown(action)}; the agent knows: {', '.join(sorted(ACTIONS))}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError's own str() would show the message as a quoted repr.
        return self.message


@dataclass(frozen=True)
class ActionSpec:
    """One action: the arguments it requires and accepts, what it does, and its builder."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str
    build: Builder
    read: Reader | None = None
    """What the desktop learns from the commands' output (one stdout per command, in order)."""

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.required + self.optional


def command_lines(action: str, args: Mapping[str, Any]) -> list[list[str]]:
    """The exact argument lists the agent runs, in order, for this action and these args."""
    spec = ACTIONS.get(action) if isinstance(action, str) else None
    if spec is None:
        raise UnknownActionError(action)
    if not isinstance(args, Mapping):
        raise ActionArgumentError(
            action, "args", "must be a mapping of argument names to values", got=args
        )
    for name in args:
        if name not in spec.arguments:
            takes = ", ".join(spec.arguments) if spec.arguments else "no arguments"
            raise ActionArgumentError(
                action, str(name), f"is not an argument of {action} (it takes {takes})"
            )
    for name in spec.required:
        if name not in args:
            raise ActionArgumentError(action, name, "is required")
    return spec.build(args)


# --- rules -------------------------------------------------------------------------------------

_MAX_SHOWN = 60
_PATH_MAX: Final = 4096
_FSNAME: Final = re.compile(r"[A-Za-z0-9_]{1,8}")
_POOL: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,14}")
_OST_NAME: Final = re.compile(r"(?P<fsname>[A-Za-z0-9_]{1,8})-OST[0-9a-f]{4}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# An IPv4 address (tcp, o2ib) or a plain number (0@lo, gni); then the network type and an
# optional network number: Lustre reads `tcp` as `tcp0`.
_NID: Final = re.compile(
    rf"(?:{_OCTET}(?:\.{_OCTET}){{3}}|[0-9]{{1,10}})@(?:o2ib|[a-z]{{1,8}})[0-9]{{0,5}}"
)
# <fsname> or <fsname>-MDT/OST<4 hex digits>, then at least <module>.<parameter>.
_CONF_KEY: Final = re.compile(
    r"[A-Za-z0-9_]{1,8}(?:-(?:MDT|OST)[0-9a-f]{4})?(?:\.[A-Za-z0-9_]+){2,}"
)
# An `lctl set_param` name: dotted components, globs allowed, none starting with '-'.
_PARAM_KEY: Final = re.compile(
    r"[A-Za-z0-9_*?][A-Za-z0-9_*?-]*(?:\.[A-Za-z0-9_*?@:\[\]][A-Za-z0-9_*?@:.\[\]-]*)+"
)
# A ZFS dataset for a target on ZFS: <pool>/<dataset>[/…].
_ZFS_DATASET: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9_.:-]+)+")
_BACKING_FILESYSTEMS: Final = ("ldiskfs", "zfs")
_MAX_INDEX: Final = 0xFFFE  # ffff marks an unregistered target in a label
_INODE_SIZES: Final = (128, 256, 512, 1024, 2048, 4096)
# mke2fs's own limits for -i (bytes per inode) and -N (inode count).
_BYTES_PER_INODE_RANGE: Final = (1024, 64 * 1024 * 1024)
_INODE_COUNT_RANGE: Final = (1, 2**32 - 1)
_TARGET_KINDS: Final = {"MGT": "--mgs", "MDT": "--mdt", "OST": "--ost"}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _fail(action: str, argument: str, rule: str, got: object = None) -> NoReturn:
    raise ActionArgumentError(action, argument, rule, got=got)


def _text(action: str, argument: str, value: object, *, option_like_ok: bool = False) -> str:
    """A non-empty string of printable characters that cannot be taken for an option."""
    if not isinstance(value, str):
        _fail(action, argument, f"must be a string, not {type(value).__name__}", value)
    if not value:
        _fail(action, argument, "must not be empty")
    if any(not c.isprintable() and not c.isspace() for c in value):
        _fail(action, argument, "must not contain NUL or other control characters", value)
    if not option_like_ok and value.startswith("-"):
        _fail(action, argument, "must not begin with '-' (it would be read as an option)", value)
    return value


def _path(action: str, argument: str, value: object) -> str:
    path = _text(action, argument, value)
    if not path.startswith("/"):
        _fail(action, argument, "must be an absolute path (starting with '/')", path)
    if any(c.isspace() for c in path):
        _fail(action, argument, "must not contain whitespace", path)
    if not path.isprintable():
        _fail(action, argument, "must not contain NUL or other control characters", path)
    if ".." in path.split("/"):
        _fail(action, argument, "must not contain a '..' component", path)
    if len(path) > _PATH_MAX:
        _fail(action, argument, f"must be at most {_PATH_MAX} characters long", path)
    return path


def _device(action: str, args: Mapping[str, Any]) -> str:
    return _path(action, "device", args["device"])


def _mount_point(action: str, args: Mapping[str, Any]) -> str:
    path = _path(action, "mount_point", args["mount_point"])
    if path.strip("/") == "":
        _fail(action, "mount_point", "must not be the root directory", path)
    return path


def _fsname(action: str, argument: str, value: object) -> str:
    name = _text(action, argument, value)
    if not _FSNAME.fullmatch(name):
        _fail(action, argument, "must be 1 to 8 letters, digits or underscores", name)
    return name


def _pool(action: str, value: object) -> str:
    name = _text(action, "pool", value)
    if not _POOL.fullmatch(name):
        _fail(
            action,
            "pool",
            "must be 1 to 15 letters, digits, underscores or hyphens, not starting with '-'",
            name,
        )
    return name


def _whole_number(action: str, argument: str, value: object, low: int, high: int) -> int:
    # bool is an int to Python, but `true` is no index or size to an admin.
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(action, argument, f"must be a whole number, not {type(value).__name__}", value)
    if not low <= value <= high:
        _fail(action, argument, f"must be from {low} to {high}", value)
    return value


def _flag(action: str, argument: str, value: object) -> bool:
    if not isinstance(value, bool):
        _fail(action, argument, f"must be true or false, not {type(value).__name__}", value)
    return value


def _list(action: str, argument: str, value: object) -> list[object]:
    if not isinstance(value, list | tuple):
        _fail(action, argument, f"must be a list, not {type(value).__name__}", value)
    return list(value)


def _nid(action: str, argument: str, value: object) -> str:
    nid = _text(action, argument, value)
    if not _NID.fullmatch(nid):
        _fail(
            action,
            argument,
            "must hold NIDs like 10.0.0.1@tcp0 or 192.168.1.2@o2ib1 (<address>@<network>)",
            nid,
        )
    return nid


def _nid_groups(action: str, argument: str, value: object) -> list[list[str]]:
    """One inner list of NIDs per server, primary first; no NID may appear twice."""
    if value is None:
        return []
    groups: list[list[str]] = []
    seen: set[str] = set()
    for entry in _list(action, argument, value):
        nids = [_nid(action, argument, nid) for nid in _list(action, argument, entry)]
        if not nids:
            _fail(action, argument, "must give at least one NID for each server")
        for nid in nids:
            if nid in seen:
                _fail(action, argument, "must name each NID only once", nid)
            seen.add(nid)
        groups.append(nids)
    return groups


def _ost_names(action: str, value: object, fsname: str) -> list[str]:
    names: list[str] = []
    for entry in _list(action, "osts", value):
        name = _text(action, "osts", entry)
        match = _OST_NAME.fullmatch(name)
        if match is None:
            _fail(action, "osts", "must hold OST names like fs1-OST000a (4 lower-case hex)", name)
        if match["fsname"] != fsname:
            _fail(action, "osts", f"must hold OSTs of filesystem {fsname!r} only", name)
        if name in names:
            _fail(action, "osts", "must name each OST only once", name)
        names.append(name)
    if not names:
        _fail(action, "osts", "must name at least one OST")
    return names


def _conf_key(action: str, value: object) -> str:
    key = _text(action, "key", value)
    if not _CONF_KEY.fullmatch(key):
        _fail(
            action,
            "key",
            "must look like fs1.sys.timeout or fs1-OST0000.osc.active (no whitespace, no '=')",
            key,
        )
    return key


def _conf_value(action: str, value: object) -> str:
    # The value travels inside `key=value`, after the key, so a leading '-' (a negative
    # number) cannot be taken for an option.
    text = _text(action, "value", value, option_like_ok=True)
    if any(c.isspace() for c in text) or "=" in text:
        _fail(action, "value", "must not contain whitespace or '=' (use null to clear)", text)
    return text


def _param_key(action: str, value: object) -> str:
    key = _text(action, "key", value)
    if not _PARAM_KEY.fullmatch(key) or ".." in key:
        _fail(
            action,
            "key",
            "must look like osc.*.max_dirty_mb or obdfilter.fs1-OST0000.degraded (dotted "
            "names, globs allowed; no whitespace, no '=')",
            key,
        )
    return key


def _failover_options(action: str, args: Mapping[str, Any]) -> list[str]:
    """`--servicenode=` for every server that may run the target (the primary included), or
    `--failnode=` for the failover servers only: one style or the other, never both (the
    manual forbids mixing them). NIDs of one server are comma-joined in one option."""
    service_nids = _nid_groups(action, "service_nids", args.get("service_nids"))
    failover_nids = _nid_groups(action, "failover_nids", args.get("failover_nids"))
    if failover_nids and len(service_nids) > 1:
        _fail(
            action,
            "failover_nids",
            "must not be given with service_nids (use --servicenode or --failnode, not both)",
        )
    if len(service_nids) > 1:
        return [f"--servicenode={','.join(nids)}" for nids in service_nids]
    return [f"--failnode={','.join(nids)}" for nids in failover_nids]


def _client_source(action: str, value: object) -> str:
    source = _text(action, "source", value)
    hosts, separator, fsname = source.rpartition(":/")
    if not separator or not hosts:
        _fail(
            action,
            "source",
            "must look like 10.0.0.1@tcp0:10.0.0.2@tcp0:/fs1 (MGS NIDs, then ':/' and the fsname)",
            source,
        )
    _fsname(action, "source", fsname)
    for host in hosts.split(":"):
        for nid in host.split(","):
            if not _NID.fullmatch(nid):
                _fail(
                    action,
                    "source",
                    f"must list MGS NIDs like 10.0.0.1@tcp0, and {nid!r} is not one",
                    source,
                )
    return source


# --- builders ----------------------------------------------------------------------------------


def _setup_server(args: Mapping[str, Any]) -> CommandLines:
    return [["lctl", "--version"]]


def _teardown_server(args: Mapping[str, Any]) -> CommandLines:
    return []


def _load_lnet(args: Mapping[str, Any]) -> CommandLines:
    return [["modprobe", "lnet"]]


def _start_lnet(args: Mapping[str, Any]) -> CommandLines:
    return [["lctl", "network", "up"], ["lctl", "list_nids"]]


def _stop_lnet(args: Mapping[str, Any]) -> CommandLines:
    # LNet will not go down while ptlrpc and the modules above it hold it; lustre_rmmod removes
    # a module together with everything that uses it.
    return [["lustre_rmmod", "ptlrpc"], ["lctl", "network", "down"]]


def _unload_lnet(args: Mapping[str, Any]) -> CommandLines:
    return [["lustre_rmmod"]]


def _format_target(args: Mapping[str, Any]) -> CommandLines:
    action = "format_target"
    backing = args.get("backfstype", "ldiskfs")
    if not isinstance(backing, str) or backing not in _BACKING_FILESYSTEMS:
        _fail(action, "backfstype", "must be ldiskfs or zfs", backing)
    on_zfs = backing == "zfs"
    if on_zfs:
        device = _text(action, "device", args["device"])
        if not _ZFS_DATASET.fullmatch(device) or ".." in device.split("/"):
            _fail(action, "device", "must name a ZFS dataset like ostpool/ost0 for zfs", device)
    else:
        device = _device(action, args)
    kind = args["kind"]
    if not isinstance(kind, str) or kind not in _TARGET_KINDS:
        _fail(action, "kind", "must be one of MGT, MDT, OST", kind)
    fsname_value = args.get("fsname")
    index_value = args.get("index")
    mgs_nids = _nid_groups(action, "mgs_nids", args.get("mgs_nids"))

    argv = ["mkfs.lustre", _TARGET_KINDS[kind]]
    if kind == "MGT":
        if fsname_value is not None:
            _fail(action, "fsname", "must be absent for an MGT (an MGS serves every filesystem)")
        if index_value is not None:
            _fail(action, "index", "must be absent for an MGT (only MDTs and OSTs have one)")
        if mgs_nids:
            _fail(action, "mgs_nids", "must be empty for an MGT (it is the MGS itself)")
    else:
        if fsname_value is None:
            _fail(action, "fsname", f"is required for an {kind}")
        if index_value is None:
            _fail(action, "index", f"is required for an {kind}")
        if not mgs_nids:
            _fail(action, "mgs_nids", f"must name at least one MGS server for an {kind}")
        argv.append(f"--fsname={_fsname(action, 'fsname', fsname_value)}")
        argv.append(f"--index={_whole_number(action, 'index', index_value, 0, _MAX_INDEX)}")
    if on_zfs:
        argv.append("--backfstype=zfs")
    # The first --mgsnode is the one used to register, so the primary MGS goes first; the NIDs of
    # one host are comma-joined in one option.
    argv.extend(f"--mgsnode={','.join(nids)}" for nids in mgs_nids)
    # A target on one server needs neither --servicenode nor --failnode.
    argv.extend(_failover_options(action, args))
    mkfs_options = _mkfs_options(action, args)
    if mkfs_options and on_zfs:
        _fail(action, "inode_size", "and the other inode options are for ldiskfs only, not zfs")
    if mkfs_options:
        argv.append(f"--mkfsoptions={mkfs_options}")
    if _flag(action, "reformat", args.get("reformat", False)):
        argv.append("--reformat")
    argv.append(device)
    if on_zfs:
        return [argv]
    return [
        argv,
        ["blkid", "-o", "value", "-s", "UUID", device],
        ["dumpe2fs", "-h", device],
    ]


def _writeconf_target(args: Mapping[str, Any]) -> CommandLines:
    """`tunefs.lustre --writeconf`, regenerating the configuration logs at the next mount.
    `--erase-params` must come first (LU-1462), and then the MGS and failover NIDs it erased
    are given again."""
    action = "writeconf_target"
    device = _device(action, args)
    argv = ["tunefs.lustre"]
    erase = _flag(action, "erase_params", args.get("erase_params", False))
    if erase:
        argv.append("--erase-params")
    argv.append("--writeconf")
    mgs_nids = _nid_groups(action, "mgs_nids", args.get("mgs_nids"))
    argv.extend(f"--mgsnode={','.join(nids)}" for nids in mgs_nids)
    argv.extend(_failover_options(action, args))
    argv.append(device)
    return [argv]


def _mkfs_options(action: str, args: Mapping[str, Any]) -> str:
    """`-I <inode size> -i <bytes per inode> -N <inode count>`: numbers only, as mkfs.lustre
    splits this option on whitespace and hands the words to mke2fs."""
    options: list[str] = []
    inode_size = args.get("inode_size")
    if inode_size is not None:
        _whole_number(action, "inode_size", inode_size, _INODE_SIZES[0], _INODE_SIZES[-1])
        if inode_size not in _INODE_SIZES:
            _fail(
                action,
                "inode_size",
                f"must be one of {', '.join(map(str, _INODE_SIZES))}",
                inode_size,
            )
        options += ["-I", str(inode_size)]
    bytes_per_inode = args.get("bytes_per_inode")
    if bytes_per_inode is not None:
        low, high = _BYTES_PER_INODE_RANGE
        options += ["-i", str(_whole_number(action, "bytes_per_inode", bytes_per_inode, low, high))]
    inode_count = args.get("inode_count")
    if inode_count is not None:
        low, high = _INODE_COUNT_RANGE
        options += ["-N", str(_whole_number(action, "inode_count", inode_count, low, high))]
    return " ".join(options)


def _register_target(args: Mapping[str, Any]) -> CommandLines:
    action = "register_target"
    device = _device(action, args)
    mount_point = _mount_point(action, args)
    # The first mount while the MGS is up registers the target and fixes its label.
    return [
        ["mkdir", "-p", mount_point],
        ["mount", "-t", "lustre", device, mount_point],
        ["umount", mount_point],
        ["blkid", "-c", "/dev/null", "-o", "value", "-s", "LABEL", device],
    ]


def _configure_target_mount(args: Mapping[str, Any]) -> CommandLines:
    return [["mkdir", "-p", _mount_point("configure_target_mount", args)]]


def _unconfigure_target_mount(args: Mapping[str, Any]) -> CommandLines:
    mount_point = _mount_point("unconfigure_target_mount", args)
    return [["rmdir", "--ignore-fail-on-non-empty", mount_point]]


def _mount_target(args: Mapping[str, Any]) -> CommandLines:
    action = "mount_target"
    # By device path, never by label: multipath devices share a label.
    return [["mount", "-t", "lustre", _device(action, args), _mount_point(action, args)]]


def _unmount_target(args: Mapping[str, Any]) -> CommandLines:
    return [["umount", _mount_point("unmount_target", args)]]


def _set_conf_param(args: Mapping[str, Any]) -> CommandLines:
    action = "set_conf_param"
    key = _conf_key(action, args["key"])
    value = args.get("value")
    if value is None:
        return [["lctl", "conf_param", "-d", key]]
    return [["lctl", "conf_param", f"{key}={_conf_value(action, value)}"]]


def _set_param_permanent(args: Mapping[str, Any]) -> CommandLines:
    """`lctl set_param -P key=value` on the MGS (Lustre ≥ 2.5), or `-d key` to delete it."""
    action = "set_param_permanent"
    key = _param_key(action, args["key"])
    value = args.get("value")
    if value is None:
        return [["lctl", "set_param", "-P", "-d", key]]
    return [["lctl", "set_param", "-P", f"{key}={_conf_value(action, value)}"]]


def _purge_filesystem(args: Mapping[str, Any]) -> CommandLines:
    return [["lctl", "erase_lcfg", _fsname("purge_filesystem", "fsname", args["fsname"])]]


def _pool_command(action: str, command: str, *, with_osts: bool) -> Builder:
    def build(args: Mapping[str, Any]) -> CommandLines:
        fsname = _fsname(action, "fsname", args["fsname"])
        argv = ["lctl", command, f"{fsname}.{_pool(action, args['pool'])}"]
        if with_osts:
            argv += _ost_names(action, args["osts"], fsname)
        return [argv]

    return build


def _mount_client(args: Mapping[str, Any]) -> CommandLines:
    action = "mount_client"
    source = _client_source(action, args["source"])
    mount_point = _mount_point(action, args)
    return [["mkdir", "-p", mount_point], ["mount", "-t", "lustre", source, mount_point]]


def _unmount_client(args: Mapping[str, Any]) -> CommandLines:
    return [["umount", _mount_point("unmount_client", args)]]


# --- readers: what the desktop learns from the output -------------------------------------------


def _read_nids(stdouts: list[str]) -> dict[str, Any]:
    """`lctl list_nids` prints one NID per line."""
    return {"nids": [line.strip() for line in stdouts[-1].splitlines() if line.strip()]}


def _read_format(stdouts: list[str]) -> dict[str, Any]:
    """The UUID from `blkid`, the inode geometry from `dumpe2fs -h`."""
    found: dict[str, Any] = {"uuid": stdouts[1].strip() or None}
    for line in stdouts[2].splitlines():
        name, _, value = line.partition(":")
        key = {"Inode size": "inode_size", "Inode count": "inode_count"}.get(name.strip())
        if key is not None and value.strip().isdigit():
            found[key] = int(value.strip())
    return found


def _read_label(stdouts: list[str]) -> dict[str, Any]:
    """The label the MGS gave at registration, from `blkid -s LABEL`."""
    return {"label": stdouts[-1].strip() or None}


def read_result(action: str, stdouts: list[str]) -> dict[str, Any] | None:
    """What `action`'s output tells the desktop, or None when it tells nothing; never raises
    (odd output reads as missing values)."""
    spec = ACTIONS.get(action)
    if spec is None or spec.read is None:
        return None
    try:
        return spec.read(stdouts)
    except (IndexError, ValueError):
        return None


_FORMAT_OPTIONAL = (
    "fsname",
    "index",
    "mgs_nids",
    "service_nids",
    "failover_nids",
    "backfstype",
    "inode_size",
    "bytes_per_inode",
    "inode_count",
    "reformat",
)
_SPECS = (
    ActionSpec(
        "setup_server",
        (),
        (),
        "Check the Lustre tools are installed (the agent also reads /sys/block and /proc).",
        _setup_server,
    ),
    ActionSpec("teardown_server", (), (), "Forget the pairing; runs no command.", _teardown_server),
    ActionSpec("load_lnet", (), (), "Load the LNet kernel module.", _load_lnet),
    ActionSpec(
        "start_lnet",
        (),
        (),
        "Bring the LNet network up and list its NIDs.",
        _start_lnet,
        _read_nids,
    ),
    ActionSpec(
        "stop_lnet",
        (),
        (),
        "Unload ptlrpc and the modules using it, then bring the LNet network down.",
        _stop_lnet,
    ),
    ActionSpec("unload_lnet", (), (), "Unload all Lustre and LNet modules.", _unload_lnet),
    ActionSpec(
        "format_target",
        ("device", "kind"),
        _FORMAT_OPTIONAL,
        "Format a device as an MGT, MDT or OST, then read its UUID and inode geometry.",
        _format_target,
        _read_format,
    ),
    ActionSpec(
        "writeconf_target",
        ("device",),
        ("mgs_nids", "service_nids", "failover_nids", "erase_params"),
        "Regenerate a stopped target's configuration logs at its next mount (tunefs.lustre).",
        _writeconf_target,
    ),
    ActionSpec(
        "register_target",
        ("device", "mount_point"),
        (),
        "Register a new target with the MGS by mounting it once, then read its label.",
        _register_target,
        _read_label,
    ),
    ActionSpec(
        "configure_target_mount",
        ("mount_point",),
        (),
        "Create a target's mount point.",
        _configure_target_mount,
    ),
    ActionSpec(
        "unconfigure_target_mount",
        ("mount_point",),
        (),
        "Remove a target's mount point if it is empty.",
        _unconfigure_target_mount,
    ),
    ActionSpec(
        "mount_target",
        ("device", "mount_point"),
        (),
        "Start a target by mounting its device.",
        _mount_target,
    ),
    ActionSpec("unmount_target", ("mount_point",), (), "Stop a target.", _unmount_target),
    ActionSpec(
        "set_conf_param",
        ("key",),
        ("value",),
        "Set a permanent conf param on the MGS, or clear it when the value is null.",
        _set_conf_param,
    ),
    ActionSpec(
        "set_param_permanent",
        ("key",),
        ("value",),
        "Set a permanent parameter on the MGS (set_param -P), or delete it when the value is null.",
        _set_param_permanent,
    ),
    ActionSpec(
        "purge_filesystem",
        ("fsname",),
        (),
        "Erase a filesystem's configuration logs (on the MGS server, with the MGS mounted).",
        _purge_filesystem,
    ),
    ActionSpec(
        "pool_new",
        ("fsname", "pool"),
        (),
        "Create an OST pool.",
        _pool_command("pool_new", "pool_new", with_osts=False),
    ),
    ActionSpec(
        "pool_add",
        ("fsname", "pool", "osts"),
        (),
        "Add OSTs to a pool.",
        _pool_command("pool_add", "pool_add", with_osts=True),
    ),
    ActionSpec(
        "pool_remove",
        ("fsname", "pool", "osts"),
        (),
        "Remove OSTs from a pool.",
        _pool_command("pool_remove", "pool_remove", with_osts=True),
    ),
    ActionSpec(
        "pool_destroy",
        ("fsname", "pool"),
        (),
        "Destroy an (empty) OST pool.",
        _pool_command("pool_destroy", "pool_destroy", with_osts=False),
    ),
    ActionSpec(
        "mount_client",
        ("source", "mount_point"),
        (),
        "Mount a filesystem on a client.",
        _mount_client,
    ),
    ActionSpec("unmount_client", ("mount_point",), (), "Unmount a client.", _unmount_client),
)
ACTIONS: Mapping[str, ActionSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
