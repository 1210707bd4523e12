"""The simulated cluster's state: servers, the LUNs each one sees, what mkfs.lustre wrote on them
and the MGS registries on MGTs, as plain dataclasses that round-trip through JSON.

Layer: agentlink.simulator (standard library only). Thread: the reactor thread owns a model;
nothing here reads a clock, touches a file or runs a command. `build_layout` makes a fresh
cluster, identical for the same seed, server count and start time; the queries on
`ClusterModel` (who sees a LUN, where an MGS runs, which targets of a filesystem are up) are
the rules the simulated commands enforce.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

FORMAT_VERSION: Final = 1
"""The version of `cluster.json`; a file of another version is refused, not guessed at."""

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB
TIB: Final = 1024 * GIB

MGT_BYTES: Final = 1 * GIB
MDT_BYTES: Final = 500 * GIB
OST_BYTES: Final = 16 * TIB
SYSTEM_DISK_BYTES: Final = 480 * 1000**3  # a 480 GB SATA SSD, sold in decimal units

MAX_SERVERS: Final = 512
DEFAULT_SERVER_COUNT: Final = 8
BASE_DIRECTORIES: Final = ("/", "/mnt", "/var", "/etc", "/root")


class SimulatorError(Exception):
    """A request to the simulator that it cannot honour; the message says what to do instead."""


class LayoutError(SimulatorError, ValueError):
    """A cluster layout that cannot be built (e.g. an odd number of servers)."""


class SimulatorStateError(SimulatorError):
    """The state directory is missing, unreadable or holds a different cluster."""


class LnetState(StrEnum):
    UNLOADED = "unloaded"
    LOADED = "loaded"
    UP = "up"


class TargetKind(StrEnum):
    MGT = "MGT"
    MDT = "MDT"
    OST = "OST"


class LunPurpose(StrEnum):
    """What the layout meant a device for; mkfs.lustre may still make anything of it."""

    MGT = "MGT"
    MDT = "MDT"
    OST = "OST"
    SYSTEM = "system"


def normalize_nid(nid: str) -> str:
    """Lustre reads `@tcp` as `@tcp0`: compare NIDs in that one spelling."""
    address, _, network = nid.partition("@")
    match = re.fullmatch(r"([a-z0-9]*?[a-z]+)(\d*)", network)
    if match is None:
        return nid
    return f"{address}@{match[1]}{match[2] or '0'}"


def seeded(*parts: object) -> random.Random:
    """A random generator fixed by its parts. Seeding with a string hashes it with SHA-512, so
    the sequence is the same in every process (unlike hash(), which PYTHONHASHSEED varies)."""
    # Not for secrets: a simulation that must replay the same way.
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311


@dataclass
class FilesystemConfig:
    """One filesystem's configuration as an MGS keeps it: registered targets and their
    UUIDs, permanent conf params and OST pools."""

    targets: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    pools: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": dict(sorted(self.targets.items())),
            "params": dict(sorted(self.params.items())),
            "pools": {name: list(osts) for name, osts in sorted(self.pools.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FilesystemConfig:
        return cls(
            targets={str(k): str(v) for k, v in data["targets"].items()},
            params={str(k): str(v) for k, v in data["params"].items()},
            pools={str(k): [str(o) for o in v] for k, v in data["pools"].items()},
        )


@dataclass
class LustreTarget:
    """What mkfs.lustre wrote on a device, and what the target has kept on it since."""

    kind: TargetKind
    uuid: str
    fsname: str | None
    index: int | None
    registered: bool
    mgs_nids: list[list[str]]
    service_nids: list[list[str]]
    inode_size: int
    inode_count: int
    replace: bool = False
    """Formatted with --replace: may take over its index from an earlier target."""
    used_kb: int = 0
    used_inodes: int = 0
    registry: dict[str, FilesystemConfig] = field(default_factory=dict)
    """Only on an MGT: the MGS's filesystems, by fsname."""
    last_host: str | None = None
    """The server that last ran the target: a mount elsewhere is a failover."""
    clients_at_stop: int = 0
    """Clients connected when it last stopped; they must reconnect (recovery) when it starts."""
    unclean: bool = False
    """It last stopped without an umount (its server crashed or lost power)."""

    @property
    def label(self) -> str:
        """The disk label: "MGS", "fs1:OST0003" until registered, "fs1-OST0003" after."""
        if self.kind == TargetKind.MGT:
            return "MGS"
        index = "ffff" if self.index is None else f"{self.index:04x}"
        separator = "-" if self.registered else ":"
        return f"{self.fsname}{separator}{self.kind.value}{index}"

    def kbytes_total(self, size_bytes: int) -> int:
        """What statfs reports: the device less ldiskfs's inode tables and journal."""
        size_kb = size_bytes // KIB
        journal_kb = min(size_kb // 64, GIB // KIB)
        return size_kb - self.inode_count * self.inode_size // KIB - journal_kb

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "uuid": self.uuid,
            "fsname": self.fsname,
            "index": self.index,
            "registered": self.registered,
            "mgs_nids": self.mgs_nids,
            "service_nids": self.service_nids,
            "inode_size": self.inode_size,
            "inode_count": self.inode_count,
            "replace": self.replace,
            "used_kb": self.used_kb,
            "used_inodes": self.used_inodes,
            "registry": {fs: config.to_json() for fs, config in sorted(self.registry.items())},
            "last_host": self.last_host,
            "clients_at_stop": self.clients_at_stop,
            "unclean": self.unclean,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LustreTarget:
        return cls(
            kind=TargetKind(data["kind"]),
            uuid=str(data["uuid"]),
            fsname=data["fsname"],
            index=data["index"],
            registered=bool(data["registered"]),
            mgs_nids=[[str(n) for n in group] for group in data["mgs_nids"]],
            service_nids=[[str(n) for n in group] for group in data["service_nids"]],
            inode_size=int(data["inode_size"]),
            inode_count=int(data["inode_count"]),
            replace=bool(data["replace"]),
            used_kb=int(data["used_kb"]),
            used_inodes=int(data["used_inodes"]),
            registry={
                str(fs): FilesystemConfig.from_json(config)
                for fs, config in data["registry"].items()
            },
            last_host=data["last_host"],
            clients_at_stop=int(data["clients_at_stop"]),
            unclean=bool(data["unclean"]),
        )


@dataclass
class Lun:
    """A block device: a SAN LUN both servers of an HA pair see at the same path with the same
    serial, or a server's own system disk."""

    serial: str
    path: str
    size_bytes: int
    hosts: list[str]
    purpose: LunPurpose
    target: LustreTarget | None = None
    mounted_on: str | None = None
    mount_point: str | None = None
    mounted_at: float | None = None
    """Seconds since the epoch when the current mount began."""
    counters: dict[str, float] = field(default_factory=dict)
    """Cumulative per-mount statistics (read_bytes, open, …); they start at 0 on each mount."""
    format_count: int = 0

    @property
    def filesystem(self) -> str | None:
        if self.purpose == LunPurpose.SYSTEM:
            return "xfs"
        return "lustre" if self.target is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "hosts": list(self.hosts),
            "purpose": self.purpose.value,
            "target": None if self.target is None else self.target.to_json(),
            "mounted_on": self.mounted_on,
            "mount_point": self.mount_point,
            "mounted_at": self.mounted_at,
            "counters": dict(sorted(self.counters.items())),
            "format_count": self.format_count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lun:
        target = data["target"]
        return cls(
            serial=str(data["serial"]),
            path=str(data["path"]),
            size_bytes=int(data["size_bytes"]),
            hosts=[str(h) for h in data["hosts"]],
            purpose=LunPurpose(data["purpose"]),
            target=None if target is None else LustreTarget.from_json(target),
            mounted_on=data["mounted_on"],
            mount_point=data["mount_point"],
            mounted_at=None if data["mounted_at"] is None else float(data["mounted_at"]),
            counters={str(k): float(v) for k, v in data["counters"].items()},
            format_count=int(data["format_count"]),
        )


@dataclass
class ServerState:
    """One server: its identity, power and health, LNet, and what it keeps across reboots."""

    hostname: str
    nids: list[str]
    boot_time: float
    cpus: int
    mem_total_kb: int
    partner: str | None
    lnet: LnetState = LnetState.UNLOADED
    powered: bool = True
    crashed: bool = False
    slow: bool = False
    fail_next: bool = False
    disk_full: bool = False
    directories: list[str] = field(default_factory=lambda: list(BASE_DIRECTORIES))
    client_mounts: dict[str, str] = field(default_factory=dict)
    """Lustre client mounts on this server: mount point → fsname."""
    counters: dict[str, float] = field(default_factory=dict)
    """Cumulative node statistics since boot (cpu jiffies, LNet messages)."""
    last_collect: float | None = None
    link_drops: int = 0
    clock_skew_s: float = 0.0
    """How far its clock is off (the skew-clock fault), as its pre-flight answer tells."""
    lustre_tools: bool = True
    """False after the no-lustre-tools fault: no mkfs.lustre, lctl or mount.lustre."""

    @property
    def online(self) -> bool:
        return self.powered and not self.crashed

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "nids": list(self.nids),
            "boot_time": self.boot_time,
            "cpus": self.cpus,
            "mem_total_kb": self.mem_total_kb,
            "partner": self.partner,
            "lnet": self.lnet.value,
            "powered": self.powered,
            "crashed": self.crashed,
            "slow": self.slow,
            "fail_next": self.fail_next,
            "disk_full": self.disk_full,
            "directories": sorted(self.directories),
            "client_mounts": dict(sorted(self.client_mounts.items())),
            "counters": dict(sorted(self.counters.items())),
            "last_collect": self.last_collect,
            "link_drops": self.link_drops,
            "clock_skew_s": self.clock_skew_s,
            "lustre_tools": self.lustre_tools,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerState:
        last_collect = data["last_collect"]
        return cls(
            hostname=str(data["hostname"]),
            nids=[str(n) for n in data["nids"]],
            boot_time=float(data["boot_time"]),
            cpus=int(data["cpus"]),
            mem_total_kb=int(data["mem_total_kb"]),
            partner=data["partner"],
            lnet=LnetState(data["lnet"]),
            powered=bool(data["powered"]),
            crashed=bool(data["crashed"]),
            slow=bool(data["slow"]),
            fail_next=bool(data["fail_next"]),
            disk_full=bool(data["disk_full"]),
            directories=[str(d) for d in data["directories"]],
            client_mounts={str(k): str(v) for k, v in data["client_mounts"].items()},
            counters={str(k): float(v) for k, v in data["counters"].items()},
            last_collect=None if last_collect is None else float(last_collect),
            link_drops=int(data["link_drops"]),
            clock_skew_s=float(data.get("clock_skew_s", 0.0)),
            lustre_tools=bool(data.get("lustre_tools", True)),
        )


@dataclass
class ClusterModel:
    """Every server and LUN of one simulated cluster; the queries the commands' rules use."""

    seed: int
    servers: dict[str, ServerState]
    luns: dict[str, Lun]
    """By serial, in layout order."""

    # --- queries -------------------------------------------------------------------------------

    def visible_luns(self, hostname: str) -> list[Lun]:
        return [lun for lun in self.luns.values() if hostname in lun.hosts]

    def lun_at(self, hostname: str, path: str) -> Lun | None:
        """The device at `path` as `hostname` sees it, or None if it sees none there."""
        for lun in self.visible_luns(hostname):
            if lun.path == path:
                return lun
        return None

    def mounted_on(self, hostname: str) -> list[Lun]:
        return [
            lun
            for lun in self.luns.values()
            if lun.mounted_on == hostname and lun.target is not None
        ]

    def running_targets(self) -> Iterator[tuple[Lun, LustreTarget]]:
        """Targets mounted on a server that is up."""
        for lun in self.luns.values():
            if lun.target is not None and lun.mounted_on is not None:
                server = self.servers.get(lun.mounted_on)
                if server is not None and server.online:
                    yield lun, lun.target

    def running_mgs(self, nids: list[str]) -> tuple[ServerState, Lun] | None:
        """The MGS reachable at any of these NIDs: its MGT mounted on an up server with LNet up."""
        wanted = {normalize_nid(nid) for nid in nids}
        for lun, target in self.running_targets():
            if target.kind != TargetKind.MGT or lun.mounted_on is None:
                continue
            server = self.servers[lun.mounted_on]
            if server.lnet == LnetState.UP and wanted & {normalize_nid(n) for n in server.nids}:
                return server, lun
        return None

    def filesystem_running(self, fsname: str) -> bool:
        """Clients can use a filesystem when one of its MDTs and one of its OSTs are up."""
        kinds = {t.kind for _, t in self.running_targets() if t.fsname == fsname}
        return {TargetKind.MDT, TargetKind.OST} <= kinds

    def client_mount_count(self, fsname: str) -> int:
        return sum(
            1
            for server in self.servers.values()
            if server.online
            for mounted_fs in server.client_mounts.values()
            if mounted_fs == fsname
        )

    # --- JSON ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "seed": self.seed,
            "servers": [server.to_json() for server in self.servers.values()],
            "luns": [lun.to_json() for lun in self.luns.values()],
        }

    @classmethod
    def from_json(cls, data: Any) -> ClusterModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise SimulatorStateError(
                f"the simulator state is format {found!r}, this simulator reads format "
                f"{FORMAT_VERSION}; remove the state directory to start a new cluster"
            )
        try:
            servers = [ServerState.from_json(s) for s in data["servers"]]
            luns = [Lun.from_json(lun) for lun in data["luns"]]
            return cls(
                seed=int(data["seed"]),
                servers={s.hostname: s for s in servers},
                luns={lun.serial: lun for lun in luns},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise SimulatorStateError(
                f"the simulator state is damaged ({type(error).__name__}: {error}); remove the "
                "state directory to start a new cluster"
            ) from error


# --- layouts -----------------------------------------------------------------------------------


def server_names(server_count: int) -> list[str]:
    """sim-mds1, sim-mds2 (the MDS pair), then sim-oss1 … in pairs."""
    return ["sim-mds1", "sim-mds2"] + [f"sim-oss{i}" for i in range(1, server_count - 1)]


def _nid(position: int) -> str:
    # 10.0.0.1 … 10.0.0.254, then 10.0.1.1 …: no .0 or .255 host parts.
    return f"10.0.{position // 254}.{position % 254 + 1}@tcp"


def build_layout(
    *,
    seed: int = 0,
    server_count: int = DEFAULT_SERVER_COUNT,
    now: float,
    osts_per_pair: int = 4,
    mdts: int = 2,
) -> ClusterModel:
    """A fresh cluster of `server_count` servers in HA pairs: the first pair (sim-mds1,
    sim-mds2) shares one MGT LUN and `mdts` MDT LUNs, each further pair of OSSes shares
    `osts_per_pair` OST LUNs. With only two servers the one pair gets the OST LUNs too. Every
    server also has an unshared system disk. `now` (seconds since the epoch) places the boot
    times; everything else follows from the seed."""
    if server_count < 2 or server_count % 2 or server_count > MAX_SERVERS:
        raise LayoutError(
            f"a simulated cluster has an even number of servers from 2 to {MAX_SERVERS} "
            f"(HA pairs), not {server_count}"
        )
    if osts_per_pair < 1 or mdts < 1:
        raise LayoutError("a simulated cluster needs at least one MDT and one OST per OSS pair")
    rng = seeded(seed, "layout")
    tag = f"{rng.getrandbits(24):06X}"
    names = server_names(server_count)
    servers: dict[str, ServerState] = {}
    for position, hostname in enumerate(names):
        is_mds = position < 2
        partner = names[position ^ 1]
        uptime_s = rng.uniform(2, 40) * 86400
        servers[hostname] = ServerState(
            hostname=hostname,
            nids=[_nid(position)],
            boot_time=round(now - uptime_s, 3),
            cpus=32 if is_mds else 24,
            mem_total_kb=(256 if is_mds else 192) * GIB // KIB - rng.randrange(180_000, 260_000),
            partner=partner,
        )

    luns: dict[str, Lun] = {}
    numbers = itertools.count(1)

    def add(purpose: LunPurpose, size: int, hosts: list[str]) -> None:
        if purpose == LunPurpose.SYSTEM:
            serial = f"SIMSSD{tag}{hosts[0].removeprefix('sim-').upper()}"
            path = f"/dev/disk/by-id/ata-SIM_SSD_480GB_{serial}"
        else:
            serial = f"SIM{tag}{next(numbers):04d}"
            path = f"/dev/disk/by-id/scsi-{serial}"
        luns[serial] = Lun(serial, path, size, list(hosts), purpose)  # each LUN its own list

    mds_pair = names[:2]
    add(LunPurpose.MGT, MGT_BYTES, mds_pair)
    for _ in range(mdts):
        add(LunPurpose.MDT, MDT_BYTES, mds_pair)
    oss_pairs = [names[i : i + 2] for i in range(2, server_count, 2)] or [mds_pair]
    for pair in oss_pairs:
        for _ in range(osts_per_pair):
            add(LunPurpose.OST, OST_BYTES, pair)
    for hostname in names:
        add(LunPurpose.SYSTEM, SYSTEM_DISK_BYTES, [hostname])
    return ClusterModel(seed=seed, servers=servers, luns=luns)
