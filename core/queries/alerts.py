"""Alerts as an admin reads them: the active ones and the history, each with the name of what it
is about ("sim-mds1", "fs1-OST0000", "/dev/sdb on oss2") rather than a kind and an id, for the
window, the CLI and the API.

Layer: core. Thread: the caller's session's (the database worker in the desktop). The alerts
themselves are read by `core.alerts.list_alerts` and `alert_record`, so what an alert is stays
decided in one place; this module adds the names, resolved in one query per kind of object, and
bounds the history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.alerts import AlertRecord, alert_record, list_alerts
from core.models import Alert, Filesystem, Host, Severity, Target, VolumeNode
from core.models.lustre import ClientMount

HISTORY_SHOWN = 1000
"""The newest ended alerts a history holds; older ones stay in the database."""

Subject = tuple[str, int]


def subject_names(session: Session, subjects: Iterable[Subject]) -> dict[Subject, str]:
    """What an admin calls each (kind, id): a server's label, "LNet on <server>", a target's or
    a filesystem's name, "<path> on <server>" for a volume's device, "<mount point> on
    <server>" for a client mount; "<kind> <id>" when it is gone or of an unknown kind."""
    wanted: dict[str, set[int]] = {}
    for kind, ident in subjects:
        wanted.setdefault(kind, set()).add(ident)
    names: dict[Subject, str] = {}
    host_ids = set(wanted.get("host", set())) | set(wanted.get("lnet", set()))
    hosts: dict[int, str] = {}

    def learn_hosts(ids: set[int]) -> None:
        missing = ids - hosts.keys()
        if missing:
            for host in session.scalars(select(Host).where(Host.id.in_(missing))):
                hosts[host.id] = host.label

    nodes: list[tuple[int, int, str]] = []
    if wanted.get("volume_node"):
        nodes = [
            row._tuple()
            for row in session.execute(
                select(VolumeNode.id, VolumeNode.host_id, VolumeNode.path).where(
                    VolumeNode.id.in_(wanted["volume_node"])
                )
            )
        ]
        host_ids |= {host_id for _, host_id, _ in nodes}
    mounts: list[tuple[int, int, str]] = []
    if wanted.get("client_mount"):
        mounts = [
            row._tuple()
            for row in session.execute(
                select(ClientMount.id, ClientMount.host_id, ClientMount.mountpoint).where(
                    ClientMount.id.in_(wanted["client_mount"])
                )
            )
        ]
        host_ids |= {host_id for _, host_id, _ in mounts}
    learn_hosts(host_ids)
    for ident in wanted.get("host", ()):
        if ident in hosts:
            names[("host", ident)] = hosts[ident]
    for ident in wanted.get("lnet", ()):
        if ident in hosts:
            names[("lnet", ident)] = f"LNet on {hosts[ident]}"
    for ident, host_id, path in nodes:
        names[("volume_node", ident)] = f"{path} on {hosts.get(host_id, f'host {host_id}')}"
    for ident, host_id, point in mounts:
        names[("client_mount", ident)] = f"{point} on {hosts.get(host_id, f'host {host_id}')}"
    for kind, model in (("target", Target), ("filesystem", Filesystem)):
        if wanted.get(kind):
            for ident, name in session.execute(
                select(model.id, model.name).where(model.id.in_(wanted[kind]))
            ):
                names[(kind, ident)] = name
    for kind, ids in wanted.items():
        for ident in ids:
            names.setdefault((kind, ident), f"{kind.replace('_', ' ')} {ident}")
    return names


def evidence_text(evidence: Iterable[Mapping[str, Any]]) -> str:
    """An alert's evidence, one entry per paragraph: a log line as it was printed, anything else
    as "key: value" lines."""
    paragraphs: list[str] = []
    for item in evidence:
        if "log" in item:
            head = " ".join(str(item[key]) for key in ("t", "severity", "source") if item.get(key))
            paragraphs.append(f"{head}  {item['log']}" if head else str(item["log"]))
            continue
        lines = []
        for key, value in item.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"{key.replace('_', ' ')}: {shown}")
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


@dataclass(frozen=True)
class AlertSummary:
    """An alert with the name of what it is about."""

    alert: AlertRecord
    subject: str

    @property
    def id(self) -> int:
        return self.alert.id

    @property
    def severity_text(self) -> str:
        return Severity(self.alert.severity).name.lower()

    @property
    def started(self) -> datetime:
        return self.alert.raised_at

    @property
    def ended(self) -> datetime | None:
        return self.alert.cleared_at

    @property
    def message(self) -> str:
        return self.alert.message

    @property
    def dismissed(self) -> bool:
        return self.alert.dismissed_at is not None

    @property
    def evidence(self) -> str:
        return evidence_text(self.alert.evidence)


@dataclass(frozen=True)
class AlertsPage:
    active: tuple[AlertSummary, ...]
    """Every active alert, dismissed or not, newest first."""
    history: tuple[AlertSummary, ...]
    """The newest ended alerts, most recently started first."""
    more_history: int
    """How many older ended alerts were left out."""


def _named(session: Session, records: list[AlertRecord]) -> tuple[AlertSummary, ...]:
    names = subject_names(session, ((r.subject_kind, r.subject_id) for r in records))
    return tuple(AlertSummary(r, names[(r.subject_kind, r.subject_id)]) for r in records)


def active_alerts(session: Session) -> tuple[AlertSummary, ...]:
    return _named(session, list_alerts(session, active_only=True))


def alerts_page(session: Session, *, history_limit: int = HISTORY_SHOWN) -> AlertsPage:
    """The active alerts and the newest `history_limit` ended ones."""
    ended = select(Alert).where(Alert.cleared_at.is_not(None))
    history = [
        alert_record(alert)
        for alert in session.scalars(
            ended.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(history_limit)
        )
    ]
    total = session.scalar(select(func.count()).select_from(ended.subquery())) or 0
    return AlertsPage(
        active_alerts(session), _named(session, history), max(total - len(history), 0)
    )
