"""The events timeline as an admin searches it: newest first, narrowed by server, least severity
and kind, and bounded, for the window, the CLI and the API.

Layer: core. Thread: the caller's session's (the database worker in the desktop). The narrowing
is done by the database (the timeline grows by thousands of entries a day), and at most `limit`
entries are read; `EventsPage.more` says whether older ones matched too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Event, Host, Severity
from core.queries.alerts import subject_names

EVENTS_SHOWN = 2000


@dataclass(frozen=True)
class EventRecord:
    id: int
    created_at: datetime
    severity: Severity
    kind: str
    """alert, job, autodetection, records, …"""
    host_id: int | None
    server: str | None
    """The label of the server it happened on, if any."""
    subject: str | None
    """What it is about, by name ("fs1-OST0000", "LNet on oss1")."""
    message: str
    alert_id: int | None

    @property
    def severity_text(self) -> str:
        return self.severity.name.lower()


@dataclass(frozen=True)
class EventFilter:
    host_id: int | None = None
    min_severity: Severity | None = None
    """Only events at least this severe."""
    kind: str | None = None


@dataclass(frozen=True)
class EventsPage:
    events: tuple[EventRecord, ...]
    """Newest first."""
    more: bool
    """Older events matched too and were left out."""
    servers: tuple[tuple[int, str], ...]
    """(host id, label) of every server, removed ones included, by label: what can be
    filtered on."""


def _severity(value: int) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        return Severity.INFO


def event_kinds(session: Session) -> tuple[str, ...]:
    """Every kind of event the timeline holds, by name (reads the whole timeline: ask once and
    add the kinds of the events read since)."""
    return tuple(session.scalars(select(Event.kind).distinct().order_by(Event.kind)))


def list_events(
    session: Session, wanted: EventFilter | None = None, *, limit: int = EVENTS_SHOWN
) -> EventsPage:
    """The newest `limit` events matching `wanted`, whether older ones matched too, and the
    servers the filter can choose from. Costs one bounded read, whatever the timeline's size."""
    wanted = wanted or EventFilter()
    matching = select(Event)
    if wanted.host_id is not None:
        matching = matching.where(Event.host_id == wanted.host_id)
    if wanted.min_severity is not None:
        matching = matching.where(Event.severity >= int(wanted.min_severity))
    if wanted.kind is not None:
        matching = matching.where(Event.kind == wanted.kind)
    rows = list(
        session.scalars(
            matching.order_by(Event.created_at.desc(), Event.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    del rows[limit:]
    subjects = subject_names(
        session,
        (
            (row.subject_kind, row.subject_id)
            for row in rows
            if row.subject_kind is not None and row.subject_id is not None
        ),
    )
    servers = tuple(
        (host_id, label)
        for label, host_id in sorted(
            (host.label, host.id) for host in session.scalars(select(Host))
        )
    )
    labels = dict(servers)
    events = tuple(
        EventRecord(
            id=row.id,
            created_at=row.created_at,
            severity=_severity(row.severity),
            kind=row.kind,
            host_id=row.host_id,
            server=labels.get(row.host_id) if row.host_id is not None else None,
            subject=(
                subjects.get((row.subject_kind, row.subject_id))
                if row.subject_kind is not None and row.subject_id is not None
                else None
            ),
            message=row.message,
            alert_id=row.alert_id,
        )
        for row in rows
    )
    return EventsPage(events, more, servers)
