"""What the agents tell the desktop about their servers, as plain frozen values for core.

Layer: core. Thread: any (immutable). The link layer (`agentlink.reports`) turns each push of an
agent and each link event into one of these, checking the shape as it goes; the alert engine
(`core.alerts`) and the scheduler's audit (`Scheduler.observe`, through `LustreReported.report`)
take them from there. Times are timezone-aware UTC: the agent's own clock for what it measured
(`t`, `boot_time`), the desktop's for when it arrived (`received_at`), so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Final

from core.errors import ValidationError
from core.scheduler.observe import LustreReport, ReportedMount


class SyslogSeverity(IntEnum):
    """Syslog's severities, numbered as syslog numbers them (0 is the worst)."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7

    @property
    def error_or_worse(self) -> bool:
        return self <= SyslogSeverity.ERR

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> SyslogSeverity:
        """A severity from its syslog name ("err", "warning"), an alias syslog(3) and rsyslog
        accept ("error", "warn", "panic" …) or its number 0-7; ValidationError otherwise."""
        if isinstance(value, SyslogSeverity):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
            return cls(value)
        if isinstance(value, str):
            found = SEVERITY_NAMES.get(value.strip().lower())
            if found is not None:
                return found
        raise ValidationError("severity", value, SEVERITY_RULE)


SEVERITY_NAMES: dict[str, SyslogSeverity] = {s.name.lower(): s for s in SyslogSeverity} | {
    "emergency": SyslogSeverity.EMERG,
    "panic": SyslogSeverity.EMERG,
    "critical": SyslogSeverity.CRIT,
    "error": SyslogSeverity.ERR,
    "warn": SyslogSeverity.WARNING,
    "informational": SyslogSeverity.INFO,
}
SEVERITY_RULE: Final = (
    "use a syslog name (" + ", ".join(s.label for s in SyslogSeverity) + ") or 0-7"
)


@dataclass(frozen=True)
class ContactChanged:
    """The desktop's link to a server's agent came up or went down."""

    up: bool
    received_at: datetime
    reason: str
    """Why it went down, or who answered when it came up, in the link layer's words."""
    agent_name: str | None = None
    agent_version: str | None = None
    """The agent's software version, when it came up and said."""
    planned: bool = False
    """The desktop closed the link on purpose (it is stopping, or the server is being removed)."""


@dataclass(frozen=True)
class DeviceSeen:
    path: str
    serial: str
    size_bytes: int
    filesystem: str | None
    label: str | None


@dataclass(frozen=True)
class DevicesReported:
    """Every block device the server sees now."""

    devices: tuple[DeviceSeen, ...]
    received_at: datetime

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(device.path for device in self.devices)


@dataclass(frozen=True)
class MountSeen:
    label: str
    device: str
    mount_point: str
    recovery: str
    """"COMPLETE", "RECOVERING" or "INACTIVE", as /proc reports it."""
    mgs_nids: tuple[str, ...] = ()
    """An MDT's or OST's MGS NIDs, when the agent could read them."""

    @property
    def recovering(self) -> bool:
        return self.recovery == "RECOVERING"


@dataclass(frozen=True)
class LustreReported:
    """The server's LNet, its NIDs and the Lustre targets mounted on it now."""

    lnet: str
    """"unloaded", "loaded" (LNet down) or "up"."""
    nids: tuple[str, ...]
    mounts: tuple[MountSeen, ...]
    boot_time: datetime
    received_at: datetime
    conf_params: Mapping[str, Mapping[str, str]] | None = None
    """Only from a server running an MGS: per filesystem name, the permanent parameters its
    configuration holds (`lctl conf_param` keys → values as set). None: not reported."""
    pools: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None
    """Only from a server running an MGS: per filesystem name, its OST pools and the OSTs in
    each (`lctl pool_list`). None: not reported."""

    @property
    def report(self) -> LustreReport:
        """The same, as the scheduler's audit (`Scheduler.observe`) takes it."""
        return LustreReport(
            lnet=self.lnet,
            mounted_devices=frozenset(mount.device for mount in self.mounts),
            mounts=tuple(
                ReportedMount(m.label, m.device, m.mount_point, m.mgs_nids) for m in self.mounts
            ),
            nids=self.nids,
            received_at=self.received_at,
            pools=self.pools,
        )


@dataclass(frozen=True)
class StatSample:
    seq: int
    t: datetime
    subject: str
    """A target label ("demofs-OST0001"), "node" or "lnet"."""
    metric: str
    value: float


@dataclass(frozen=True)
class LogLine:
    seq: int
    t: datetime
    severity: SyslogSeverity
    facility: str
    source: str
    message: str


@dataclass(frozen=True)
class RecordsReported:
    """Statistics samples and syslog lines from the agent's journal, in journal order: pushed
    as they are collected, or fetched later to fill a gap (then they may be old)."""

    stats: tuple[StatSample, ...]
    logs: tuple[LogLine, ...]
    received_at: datetime


@dataclass(frozen=True)
class RecordsMissed:
    """The agent had to drop journal records before the desktop could fetch them."""

    after: int
    missed: int
    received_at: datetime


Observation = ContactChanged | DevicesReported | LustreReported | RecordsReported | RecordsMissed
