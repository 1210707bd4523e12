"""Green, amber or red for every target, server and filesystem, each with its reasons.

Layer: core. Thread: the database worker's (`compute_health` reads in the caller's session).
Health is judged from the active alerts (dismissed ones too: dismissing an alert says the admin
has seen it, not that the condition went away) and rolls up:

- a server is red when it is offline; amber with any other alert of its own (LNet down, NIDs
  changed, clock skew, agent version, error spike, a missing device, a failed job);
- a target is red when it is offline, when the server it runs on is offline (nobody can say it
  still serves), or when it is full (`CAPACITY_FULL_PERCENT`); amber when it runs on its
  failover server, recovers, is nearly full, a device it mounts from is missing, or a job on it
  failed;
- a filesystem is red when its MGS or an MDT is red (clients cannot use it); amber when an OST
  is red (it works, degraded), any member is amber, or a job on it failed.

A target stopped on purpose has no alert and is green: its state says it is stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.alerts import FILESYSTEM, HOST, TARGET, VOLUME_NODE
from core.models import Alert, AlertKind, Severity, TargetKind, TargetMount, VolumeNode
from core.scheduler.world import load_world
from core.states import TargetState


class HealthLevel(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {HealthLevel.GREEN: 0, HealthLevel.AMBER: 1, HealthLevel.RED: 2}


@dataclass(frozen=True)
class Health:
    level: HealthLevel
    reasons: tuple[str, ...] = ()


GREEN = Health(HealthLevel.GREEN)


@dataclass(frozen=True)
class HealthReport:
    hosts: Mapping[int, Health]
    targets: Mapping[int, Health]
    filesystems: Mapping[int, Health]


class _Judge:
    """Collects reasons at levels for one object; the worst level wins."""

    def __init__(self) -> None:
        self.level = HealthLevel.GREEN
        self.reasons: list[str] = []

    def add(self, level: HealthLevel, reason: str) -> None:
        if level.rank > self.level.rank:
            self.level = level
        if reason not in self.reasons:
            self.reasons.append(reason)

    def health(self) -> Health:
        return Health(self.level, tuple(self.reasons)) if self.reasons else GREEN


_RED_TARGET = (AlertKind.TARGET_OFFLINE,)
_SIZE = (AlertKind.CAPACITY_HIGH, AlertKind.INODES_HIGH)


def _reason(alert: Alert) -> str:
    return alert.message + (" (dismissed)" if alert.dismissed_at is not None else "")


def compute_health(session: Session) -> HealthReport:
    world = load_world(session)
    alerts: dict[tuple[str, int], list[Alert]] = defaultdict(list)
    for alert in session.scalars(
        select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.raised_at, Alert.id)
    ):
        alerts[(alert.subject_kind, alert.subject_id)].append(alert)
    node_of_mount = {
        mount_id: node_id
        for mount_id, node_id in session.execute(select(TargetMount.id, TargetMount.volume_node_id))
    }

    hosts: dict[int, _Judge] = {ident: _Judge() for ident in world.hosts}
    offline_hosts: set[int] = set()
    for ident, judge in hosts.items():
        for alert in alerts.get((HOST, ident), ()):
            if alert.kind == AlertKind.SERVER_OFFLINE:
                offline_hosts.add(ident)
                judge.add(HealthLevel.RED, _reason(alert))
            else:
                judge.add(HealthLevel.AMBER, _reason(alert))

    targets: dict[int, _Judge] = {}
    for ident, target in world.targets.items():
        judge = targets[ident] = _Judge()
        for alert in alerts.get((TARGET, ident), ()):
            if alert.kind in _RED_TARGET or (
                alert.kind in _SIZE and alert.severity >= Severity.ERROR
            ):
                judge.add(HealthLevel.RED, _reason(alert))
            else:
                judge.add(HealthLevel.AMBER, _reason(alert))
        active = target.active
        if (
            target.state == TargetState.MOUNTED
            and active is not None
            and active.host_id in offline_hosts
        ):
            name = world.hosts[active.host_id].label
            judge.add(HealthLevel.RED, f"its server {name} is offline")
        for mount in target.mounts:
            node = node_of_mount.get(mount.id)
            for alert in alerts.get((VOLUME_NODE, node), ()) if node is not None else ():
                judge.add(HealthLevel.AMBER, _reason(alert))
    missing = [ident for kind, ident in alerts if kind == VOLUME_NODE]
    for node_id, host_id in session.execute(
        select(VolumeNode.id, VolumeNode.host_id).where(VolumeNode.id.in_(missing))
    ):
        for alert in alerts[(VOLUME_NODE, node_id)]:
            if host_id in hosts:
                hosts[host_id].add(HealthLevel.AMBER, _reason(alert))

    filesystems: dict[int, _Judge] = {}
    for ident, filesystem in world.filesystems.items():
        judge = filesystems[ident] = _Judge()
        for alert in alerts.get((FILESYSTEM, ident), ()):
            judge.add(HealthLevel.AMBER, _reason(alert))
        members = [filesystem.mgs_id, *filesystem.member_ids]
        for member_id in members:
            member = world.targets.get(member_id)
            if member is None:
                continue
            health = targets[member_id].health()
            if health.level == HealthLevel.GREEN:
                continue
            critical = member.kind in (TargetKind.MGT, TargetKind.MDT)
            level = (
                HealthLevel.RED
                if health.level == HealthLevel.RED and critical
                else HealthLevel.AMBER
            )
            for reason in health.reasons:
                judge.add(level, f"{member.name}: {reason}")

    return HealthReport(
        hosts={ident: judge.health() for ident, judge in hosts.items()},
        targets={ident: judge.health() for ident, judge in targets.items()},
        filesystems={ident: judge.health() for ident, judge in filesystems.items()},
    )
