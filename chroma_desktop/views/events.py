"""Events: the timeline of what happened (time, server, severity, kind, message), newest first,
narrowed by server, least severity and kind, and by words typed.

Layer: chroma_desktop. Thread: the GUI thread (events read on the database worker by
`core.queries.events`). The server, severity and kind filters are applied by the database and the
newest `EVENTS_SHOWN` matching events are read (the screen says when more matched); the words
typed narrow what was read, at once. The timeline grows with alerts, jobs and reports, so the
screen reloads on that news, coalesced by `LiveView`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
)
from sqlalchemy.orm import Session

from agentlink.connector import LinkEvent
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView
from chroma_desktop.widgets.tables import filter_box, record_table
from core.alerts import AlertChange
from core.models import Severity
from core.queries.events import (
    EVENTS_SHOWN,
    EventFilter,
    EventRecord,
    EventsPage,
    event_kinds,
    list_events,
)
from core.queries.text import when_text
from core.scheduler import CommandChanged, JobChanged, ObjectChanged

SEVERITY_CHOICES: tuple[tuple[str, Severity | None], ...] = (
    ("Any severity", None),
    ("Info or worse", Severity.INFO),
    ("Warning or worse", Severity.WARNING),
    ("Error or worse", Severity.ERROR),
)
SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.CRITICAL: "#b02a1a",
    Severity.ERROR: "#b02a1a",
    Severity.WARNING: "#8a6d00",
}
ANY_SERVER, ANY_KIND = "Any server", "Any kind"


@dataclass(frozen=True)
class _Read:
    page: EventsPage
    kinds: tuple[str, ...]


class EventsView(LiveView):
    title = "Events"
    limit = EVENTS_SHOWN
    """The newest matching events read at most."""
    RELOAD_DELAY_MS = 500
    """The timeline is no live chart: the longer delay spares the database worker (which the
    scheduler shares) most 2,000-row reads during a long command."""

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self._wanted = EventFilter()
        self._kinds: set[str] = set()
        """What the database narrows by: read on the worker at each reload."""
        self.model: RecordTableModel[EventRecord] = RecordTableModel(
            [
                Column(
                    "Time",
                    lambda e: when_text(e.created_at),
                    sort_key=lambda e: (e.created_at, e.id),
                ),
                Column("Server", lambda e: e.server or ""),
                Column(
                    "Severity",
                    lambda e: e.severity_text,
                    sort_key=lambda e: int(e.severity),
                    colour=lambda e: SEVERITY_COLOURS.get(e.severity),
                ),
                Column("Kind", lambda e: e.kind),
                Column("Message", lambda e: e.message, tooltip=lambda e: e.subject),
            ],
            key=lambda e: e.id,
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.server_filter = QComboBox()
        self.server_filter.addItem(ANY_SERVER, None)
        self.severity_filter = QComboBox()
        for text, severity in SEVERITY_CHOICES:
            self.severity_filter.addItem(text, severity)
        self.kind_filter = QComboBox()
        self.kind_filter.addItem(ANY_KIND, None)
        for combo in (self.server_filter, self.severity_filter, self.kind_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self._filters_changed)
        self.filter = filter_box(self.proxy, "Filter events (every word must match)")
        self.table = record_table(
            self.proxy, single=False, order=Qt.SortOrder.DescendingOrder
        )  # newest first
        self.table.setWordWrap(False)
        self.status = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.server_filter)
        top.addWidget(self.severity_filter)
        top.addWidget(self.kind_filter)
        top.addWidget(self.filter, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

    # --- LiveView -------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        # What writes to the timeline: alerts raised, cleared and dismissed; jobs changing
        # objects; commands ending; links coming and going (the alerts that follow them).
        return isinstance(
            event, AlertChange | ObjectChanged | JobChanged | CommandChanged | LinkEvent
        )

    def fetch(self, session: Session) -> _Read:
        # Every kind there is, once (it reads the whole timeline); then the kinds of what is read.
        kinds = event_kinds(session) if not self._kinds else ()
        return _Read(list_events(session, self._wanted, limit=self.limit), kinds)

    def show_data(self, data: _Read) -> None:
        page = data.page
        self._kinds.update(data.kinds)
        self._kinds.update(event.kind for event in page.events)
        self._offer(self.server_filter, ANY_SERVER, list(page.servers))
        self._offer(self.kind_filter, ANY_KIND, [(kind, kind) for kind in sorted(self._kinds)])
        self.model.set_rows(page.events)
        self._show_status(page)

    # --- what the admin does --------------------------------------------------------------------

    def set_filters(
        self,
        *,
        server: str | None = None,
        min_severity: Severity | None = None,
        kind: str | None = None,
    ) -> None:
        """Choose the server (by label, among those offered), least severity and kind shown;
        None for any. A kind not offered yet is offered at once."""
        if server is None:
            self.server_filter.setCurrentIndex(0)
        else:
            self.server_filter.setCurrentIndex(max(self.server_filter.findText(server), 0))
        if kind is None:
            self.kind_filter.setCurrentIndex(0)
        else:
            if self.kind_filter.findData(kind) < 0:
                self.kind_filter.addItem(kind, kind)
            self.kind_filter.setCurrentIndex(self.kind_filter.findData(kind))
        self.severity_filter.setCurrentIndex(
            next(i for i, (_, s) in enumerate(SEVERITY_CHOICES) if s == min_severity)
        )

    # --- inside ---------------------------------------------------------------------------------

    def _filters_changed(self) -> None:
        wanted = EventFilter(
            host_id=self.server_filter.currentData(),
            min_severity=self.severity_filter.currentData(),
            kind=self.kind_filter.currentData(),
        )
        if wanted != self._wanted:
            self._wanted = wanted
            self.refresh()

    def _offer(self, combo: QComboBox, any_text: str, choices: list[tuple[object, str]]) -> None:
        """Offer `choices` ((data, text)) after "any", keeping what is chosen, even if it is
        no longer among them."""
        chosen = combo.currentData()
        wanted = [(None, any_text), *((data, text) for data, text in choices)]
        if chosen is not None and chosen not in [data for data, _ in wanted]:
            wanted.append((chosen, combo.currentText()))
        present = [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]
        if present == wanted:
            return
        combo.blockSignals(True)
        combo.clear()
        for data, text in wanted:
            combo.addItem(text, data)
        combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen is not None else 0)
        combo.blockSignals(False)

    def _show_status(self, data: EventsPage) -> None:
        shown = len(data.events)
        if data.more:
            self.status.setText(
                f"Only the newest {shown:,} matching events are shown; narrow the filters to "
                "see older ones."
            )
        elif shown == 0:
            self.status.setText("No events match.")
        else:
            self.status.setText(f"{shown:,} event{'s' if shown != 1 else ''}.")
