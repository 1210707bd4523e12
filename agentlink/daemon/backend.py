"""What an agent does on its server, behind one interface: run commands and observe the machine.

Layer: agentlink.daemon (imports nothing of core). Thread: the agent's reactor thread calls
every method; `run` answers with a Deferred, the observers return at once. The real Linux and
Lustre backend (`localhost.LocalHost`, over `probes`) and the cluster simulator both implement
`AgentBackend`, so the dispatcher, the link and the desktop cannot tell them apart.

What the observers return is plain data (str, int, float, bool, None, lists and dicts of them)
so that it crosses the wire as msgpack unchanged:

- `devices()`: the block devices this server sees, one `DeviceRecord` each.
- `lustre_state()`: one `LustreState`: LNet's state, this server's NIDs, the Lustre targets
  mounted here and, where an MGS runs here, the permanent settings (`lctl conf_param`,
  `lctl set_param -P`) it holds and the OST pools of each filesystem it serves.
- `collect(now)`: the records produced since the last call: statistics samples (`StatRecord`)
  and syslog lines (`LogRecord`). The agent numbers them, keeps them in its bounded journal on
  disk and pushes them; the desktop backfills from the journal what it missed while away.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Protocol, TypedDict, runtime_checkable

from agentlink.daemon.dispatch import Runner


class DeviceRecord(TypedDict):
    """One block device. The real backend adds, where it knows them, the optional keys the
    desktop's `linux` plugin reads (see plugins/reports.py): parent, partition_number, slaves,
    holders, dm_uuid, dm_name, vg, lv, vg_uuid, lv_uuid, md_uuid."""

    path: str
    """The stable path the desktop uses, e.g. /dev/disk/by-id/scsi-SIM0001."""
    serial: str
    """The same for every server that sees this LUN: how the desktop pairs HA nodes."""
    size_bytes: int
    major_minor: str
    filesystem: str | None
    """"lustre" once formatted, None when blank."""
    label: str | None
    """The Lustre label once formatted ("MGS", "demofs-OST0003"); "demofs:OST0003" style labels
    before the first registration are reported as they are."""


class MountRecord(TypedDict):
    label: str
    device: str
    mount_point: str
    recovery: str
    """"COMPLETE", "RECOVERING" or "INACTIVE", as /proc reports it."""
    mgs_nids: NotRequired[list[str]]
    """An MDT's or OST's MGS NIDs as mkfs.lustre wrote them (`--mgsnode`); left out when the
    backend cannot read them."""


class LustreState(TypedDict):
    lnet: Literal["unloaded", "loaded", "up"]
    nids: list[str]
    mounts: list[MountRecord]
    boot_time: float
    """Seconds since the epoch when the server booted: a new value means it rebooted."""
    conf_params: NotRequired[dict[str, dict[str, str]]]
    """Only where an MGS runs: per filesystem name, the permanent parameters its configuration
    holds, by `lctl conf_param` key ("fs1.sys.timeout", "fs1-OST0000.osc.active") with their
    values as set. Left out where no MGS runs or the backend cannot read them."""
    pools: NotRequired[dict[str, dict[str, list[str]]]]
    """Only where an MGS runs: per filesystem name, its OST pools and the OSTs in each
    (`lctl pool_list`: "fs1-OST0000", without the UUID's "_UUID"; an empty pool: []). Left out
    where no MGS runs or the backend cannot read them. The desktop makes a named filesystem's
    pools exactly these, so a filesystem whose pools cannot all be read is left out of the
    dict, never named with some or none (the real agent reads them from an MDT or client of
    the filesystem on the MGS's server: a standalone MGS names none)."""


class StatRecord(TypedDict):
    kind: Literal["stat"]
    t: float
    """Seconds since the epoch."""
    subject: str
    """A target label ("demofs-OST0001"), "node" or "lnet"."""
    metric: str
    """e.g. "read_bytes", "write_bytes", "kbytesfree", "num_exports", "cpu_user"."""
    value: float


class LogRecord(TypedDict):
    kind: Literal["log"]
    t: float
    severity: str
    """syslog severity name: "emerg" … "debug"."""
    facility: str
    source: str
    message: str


Record = StatRecord | LogRecord


class AgentBackend(Runner, Protocol):
    """The machine an agent runs on (real or simulated)."""

    @property
    def hostname(self) -> str: ...

    def devices(self) -> list[DeviceRecord]: ...

    def lustre_state(self) -> LustreState: ...

    def collect(self, now: float) -> list[Record]: ...


@runtime_checkable
class ReportsZpools(Protocol):
    """A backend that also sees ZFS pools: `zpools()` gives each as the devices report carries
    it (`{"name", "size_bytes", "devices": [major:minor…], "guid", "health"}`), pushed with the
    devices. The simulator has no ZFS and does not implement it."""

    def zpools(self) -> list[dict[str, Any]]: ...


@runtime_checkable
class ReportsPreflight(Protocol):
    """A backend that tells, before pairing, what the desktop's pre-flight checks need to know
    of its server (`core.preflight.AgentFacts` reads it): `{"hostname", "fqdn", "addresses",
    "time", "kernel", "lustre_version", "lustre_proc", "modules_loaded", "modules_available",
    "tools", "lnet_state", "nids", "lnet_networks"}`, any of them left out when unknown. `now`
    is the agent's wall clock; a backend with a clock of its own (the simulator's) may answer
    another "time"."""

    def preflight_facts(self, now: float) -> dict[str, Any]: ...
