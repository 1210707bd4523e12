"""What an MGS does with `lctl conf_param`, `lctl set_param -P`, the `lctl pool_*` commands and
`lctl erase_lcfg`: changes to the registry an MGT keeps for each filesystem.

Layer: agentlink.simulator (standard library only). Thread: the reactor thread (the functions
change the registry they are given). Each function checks its words as lctl and the MGS would,
raises `Refusal` with lctl's own error output, and otherwise returns what lctl prints and the
lines the MGS writes to the kernel log. `lctl pool_list` prints what real lctl prints (the
agent's parsers read it), from the registry, where the real one reads an MDT's pool files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agentlink.simulator.commands import Refusal
from agentlink.simulator.model import FilesystemConfig

Registry = dict[str, FilesystemConfig]


@dataclass(frozen=True)
class MgsOutcome:
    stdout: str = ""
    logs: list[str] = field(default_factory=list)


class UnknownFilesystem(Refusal):
    """The MGS has no configuration for the filesystem; the MGS logs why."""

    def __init__(self, what: str, fsname: str) -> None:
        super().__init__(1, f"error: {what}: No such file or directory\n")
        self.log = f"LustreError: 5313:0:(mgs_llog.c:1720:mgs_{what}()) MGS: no fs {fsname}"


def _filesystem(registry: Registry, what: str, fsname: str) -> FilesystemConfig:
    config = registry.get(fsname)
    if config is None:
        raise UnknownFilesystem(what, fsname)
    return config


def conf_param(registry: Registry, words: Sequence[str]) -> MgsOutcome:
    """`lctl conf_param fs1.sys.timeout=40`, `… fs1-OST0000.osc.active=0`, `… -d <key>`."""
    delete = "-d" in words
    rest = [word for word in words if word != "-d"]
    if len(rest) != 1 or (not delete and "=" not in rest[0]):
        raise Refusal(
            1, "usage: conf_param [-d] <target.keyword=val>\nerror: conf_param: Invalid argument\n"
        )
    key, _, value = rest[0].partition("=")
    head = key.split(".", 1)[0]
    fsname = head.split("-", 1)[0]
    config = _filesystem(registry, "conf_param", fsname)
    if "-" in head and head not in config.targets:
        raise Refusal(1, "error: conf_param: No such file or directory\n")
    if delete:
        config.params.pop(key, None)
        return MgsOutcome(logs=[f"Lustre: Deleting parameter {key} in log {fsname}-client"])
    config.params[key] = value
    return MgsOutcome(logs=[f"Lustre: Setting parameter {key} in log {fsname}-client"])


def set_param_permanent(registry: Registry, words: Sequence[str]) -> MgsOutcome:
    """`lctl set_param -P llite.fs1-*.max_cached_mb=64`, `… -P osc.fs1-OST0000-*.active=0`,
    `… -P -d <path>`: the permanent form, kept by the MGS like `conf_param`. The simulator
    keeps one permanent configuration per filesystem, so the path is recorded under the
    `conf_param` key it stands for (fs1.llite.max_cached_mb, fs1-OST0000.osc.active)."""
    delete = "-d" in words
    rest = [word for word in words if word not in ("-P", "-d")]
    if len(rest) != 1 or (not delete and "=" not in rest[0]):
        raise Refusal(1, "set_param: usage: set_param -P [-d] <path>=<value>\n")
    path, _, value = rest[0].partition("=")
    device, _, tail = path.partition(".")
    instance, _, parameter = tail.partition(".")
    owner = instance.removesuffix("*").removesuffix("-")
    if not device or not owner or not parameter or "*" in owner:
        raise Refusal(
            1,
            f"error: set_param: {path}: the simulator needs <device>.<fsname or target>-*.<name>\n",
        )
    key = f"{owner}.{device}.{parameter}"
    return conf_param(registry, ["-d", key] if delete else [f"{key}={value}"])


def pool_command(registry: Registry, sub: str, words: Sequence[str]) -> MgsOutcome:
    """`lctl pool_new|pool_add|pool_remove|pool_destroy|pool_list fs1.pool [OST…]`."""
    if not words:
        raise Refusal(1, f"usage: {sub} <fsname>.<poolname> [<ostname>...]\n")
    fsname, _, pool = words[0].partition(".")
    if sub == "pool_list":
        return _pool_list(registry, fsname, pool)
    config = _filesystem(registry, sub, fsname)
    name = f"{fsname}.{pool}"
    if not pool:
        raise Refusal(1, f"{sub}: {words[0]} is not a valid pool name\n")
    if sub == "pool_new":
        if pool in config.pools:
            raise Refusal(1, f"Pool {name} already exists\npool_new: File exists\n")
        config.pools[pool] = []
        return MgsOutcome(f"Pool {name} created\n")
    members = config.pools.get(pool)
    if members is None:
        raise Refusal(1, f"Pool {name} not found\n{sub}: No such file or directory\n")
    if sub == "pool_destroy":
        if members:
            raise Refusal(
                1,
                f"Pool {name} not empty, please remove all members\n"
                "pool_destroy: Directory not empty\n",
            )
        del config.pools[pool]
        return MgsOutcome(f"Pool {name} destroyed\n")
    osts = [word.removesuffix("_UUID") for word in words[1:]]
    if not osts:
        raise Refusal(1, f"usage: {sub} <fsname>.<poolname> <ostname>...\n")
    # Like lctl, each OST is handled in turn: those before a refused one stay done.
    out = []
    for ost in osts:
        if ost not in config.targets or "-OST" not in ost:
            raise Refusal(
                1, f"{ost} is not part of the '{fsname}' fs.\n{sub}: No such file or directory\n"
            )
        if sub == "pool_add":
            if ost in members:
                raise Refusal(
                    1,
                    f"OST {ost} is already in pool {name}\n"
                    "pool_add: Operation already in progress\n",
                )
            members.append(ost)
            out.append(f"OST {ost} added to pool {name}\n")
        else:
            if ost not in members:
                raise Refusal(
                    1,
                    f"OST {ost} not found in pool {name}\npool_remove: No such file or directory\n",
                )
            members.remove(ost)
            out.append(f"OST {ost} removed from pool {name}\n")
    return MgsOutcome("".join(out))


def _pool_list(registry: Registry, fsname: str, pool: str) -> MgsOutcome:
    """`lctl pool_list fs1`: `Pools from fs1:` and a `fs1.<pool>` line each; `lctl pool_list
    fs1.flash`: `Pool: fs1.flash` and its members as the pool file holds them
    (`fs1-OST0000_UUID`). lctl reads them from the MDT's pool files, not from the MGS, so its
    errors are its own rather than the MGS's."""
    config = registry.get(fsname)
    if config is None:
        raise Refusal(1, f"Lustre filesystem '{fsname}' not found: No such file or directory (2)\n")
    if not pool:
        return MgsOutcome(
            f"Pools from {fsname}:\n" + "".join(f"{fsname}.{p}\n" for p in sorted(config.pools))
        )
    members = config.pools.get(pool)
    if members is None:
        raise Refusal(
            1,
            f"cannot open /proc/fs/lustre/lod/{fsname}-MDT0000-mdtlov/pools/{pool}: "
            "No such file or directory (2)\n",
            stdout=f"Pool: {fsname}.{pool}\n",
        )
    return MgsOutcome(f"Pool: {fsname}.{pool}\n" + "".join(f"{ost}_UUID\n" for ost in members))


def erase_lcfg(registry: Registry, fsname: str, running: Sequence[str]) -> MgsOutcome:
    """Forget a filesystem's configuration logs; refused while any of its targets runs."""
    if running:
        raise Refusal(1, "error: erase_lcfg: Device or resource busy\n")
    if registry.pop(fsname, None) is None:
        return MgsOutcome()  # nothing to erase: as idempotent as the real one
    return MgsOutcome(
        logs=[
            f"Lustre: MGS: Logs for fs {fsname} were removed by user request.  All servers "
            "must be restarted in order to regenerate the logs: rc = 0"
        ]
    )
