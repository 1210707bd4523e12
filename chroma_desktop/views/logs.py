"""Logs: the syslog of every server, searched with the log store's query language (words,
numbers, "phrases"), filtered by server, severity, time and "only Lustre messages", newest first,
with a live tail that puts new lines on top as they arrive.

Layer: chroma_desktop. Thread: the GUI thread. Searches and tail pages run on the history
thread (`History.search_logs`, `History.tail_logs`) and come back through the bridge; the tail
asks again only once its previous page arrived, so a slow disk never piles up requests or
freezes the window. Server names come from the database worker (`fetch`).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentlink.connector import LinkEvent
from chroma_desktop.failures import Failure
from chroma_desktop.history import LogPage
from chroma_desktop.itemmodels.loglines import LogLinesModel
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from core.models import Host
from core.observations import SyslogSeverity
from stats.logs import TailPage

SEARCH_LIMIT = 1000
TAIL_LIMIT = 1000
FILTER_DELAY_MS = 300
TIME_RANGES: tuple[tuple[str, float | None], ...] = (
    ("Any time", None),
    ("Last 15 minutes", 15 * 60),
    ("Last hour", 3600),
    ("Last day", 86_400),
    ("Last week", 7 * 86_400),
)


@dataclass(frozen=True)
class _Query:
    text: str
    hosts: list[str] | None
    severities: list[SyslogSeverity] | None
    lustre_only: bool


class LogsView(LiveView):
    title = "Logs"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.tail_interval_ms = 1000
        self._cursor: int | None = None
        self._searching = False
        self._search_again = False
        self._tailing = False
        self._searched_once = False
        self._query = _Query("", None, None, False)

        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText(
            'Search: every word, number and "quoted phrase" must occur (e.g. OST0003 "evicting")'
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.server_box = QComboBox()
        self.server_box.addItem("All servers", None)
        self.severity_box = QComboBox()
        self.severity_box.addItem("Any severity", None)
        for severity in list(SyslogSeverity)[:-1]:
            self.severity_box.addItem(f"{severity.label} or worse", severity)
        self.time_box = QComboBox()
        for label, seconds in TIME_RANGES:
            self.time_box.addItem(label, seconds)
        self.lustre_box = QCheckBox("Only Lustre messages")
        self.tail_box = QCheckBox("Live tail")
        self.tail_box.setToolTip("Put new lines on top as the servers send them.")
        self.tail_box.toggled.connect(self._tail_toggled)
        hide_when_read_only(context, self.tail_box)  # an archive gets no new lines
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.search)
        for box in (self.server_box, self.severity_box, self.time_box):
            box.currentIndexChanged.connect(self._filter_timer.start)
        self.lustre_box.toggled.connect(self._filter_timer.start)

        self.model = LogLinesModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column in range(4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.status = QLabel()
        self._tail_timer = QTimer(self)
        self._tail_timer.setSingleShot(True)
        self._tail_timer.timeout.connect(self._tail)

        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.search_button)
        filters = QHBoxLayout()
        for widget in (
            self.server_box,
            self.severity_box,
            self.time_box,
            self.lustre_box,
            self.tail_box,
        ):
            filters.addWidget(widget)
        filters.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        if context.history is None:
            self.status.setText("No logs: history is not available in this session.")

    # --- LiveView: the server filter's names -----------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        return isinstance(event, LinkEvent)

    def fetch(self, session: Session) -> list[tuple[str, str]]:
        hosts = select(Host.address, Host.nodename).where(Host.deleted_at.is_(None))
        return [(address, name or address) for address, name in session.execute(hosts)]

    def show_data(self, data: list[tuple[str, str]]) -> None:
        chosen = self.server_box.currentData()
        self.server_box.blockSignals(True)
        self.server_box.clear()
        self.server_box.addItem("All servers", None)
        for address, name in sorted(data, key=lambda pair: pair[1]):
            self.server_box.addItem(name, address)
        found = self.server_box.findData(chosen) if chosen is not None else 0
        self.server_box.setCurrentIndex(max(0, found))
        self.server_box.blockSignals(False)
        self.model.set_host_names(dict(data))
        if not self._searched_once:
            self.search()

    # --- searching ------------------------------------------------------------------------------

    def _filters(self) -> tuple[list[str] | None, list[SyslogSeverity] | None]:
        host = self.server_box.currentData()
        worst = self.severity_box.currentData()
        severities = [s for s in SyslogSeverity if s <= worst] if worst is not None else None
        return ([host] if host else None), severities

    def search(self) -> None:
        """Run the search now (newest lines first); the tail then goes on from there."""
        history = self.context.history
        self._filter_timer.stop()
        if history is None:
            return
        if self._searching:
            self._search_again = True  # the filters changed while one was on its way
            return
        self._searching, self._searched_once = True, True
        hosts, severities = self._filters()
        self._query = _Query(self.search_box.text(), hosts, severities, self.lustre_box.isChecked())
        seconds = self.time_box.currentData()
        self.status.setText("Searching…")
        self.context.bridge.deliver(
            history.search_logs(
                self._query.text,
                hosts=hosts,
                severities=severities,
                since=self.context.clock() - seconds if seconds else None,
                lustre_only=self._query.lustre_only,
                limit=SEARCH_LIMIT,
            ),
            self._found,
            owner=self,
            on_error=self._failed,
        )

    @property
    def searching(self) -> bool:
        return self._searching or self._filter_timer.isActive()

    def _found(self, page: LogPage) -> None:
        self._searching = False
        if self._search_again:
            self._search_again = False
            self.search()
            return
        self._cursor = page.cursor
        self.model.set_lines(page.lines)
        more = (
            " (the newest; narrow the search to see older ones)"
            if len(page.lines) == SEARCH_LIMIT
            else ""
        )
        self.status.setText(f"{len(page.lines)} lines{more}")
        self._schedule_tail()

    def _failed(self, failure: Failure) -> None:
        self._searching = self._tailing = False
        self._search_again = False
        self.status.setText(str(failure))

    # --- live tail ------------------------------------------------------------------------------

    def _tail_toggled(self, on: bool) -> None:
        if on:
            self._schedule_tail()
        else:
            self._tail_timer.stop()

    def _schedule_tail(self, delay_ms: int | None = None) -> None:
        if self.tail_box.isChecked() and self.isVisible() and not self._tailing:
            self._tail_timer.start(self.tail_interval_ms if delay_ms is None else delay_ms)

    def _tail(self) -> None:
        history = self.context.history
        if history is None or self._cursor is None or self._searching:
            return  # a search on its way sets the cursor and schedules the tail again
        self._tailing = True
        query = self._query  # the tail follows what the table shows, not what is being typed
        self.context.bridge.deliver(
            history.tail_logs(
                self._cursor,
                query.text,
                hosts=query.hosts,
                severities=query.severities,
                lustre_only=query.lustre_only,
                limit=TAIL_LIMIT,
            ),
            self._tailed,
            owner=self,
            on_error=self._failed,
        )

    def _tailed(self, page: TailPage) -> None:
        self._tailing = False
        if self._searching:
            return  # this page belongs to the filters before the new search
        self._cursor = page.cursor
        self.model.prepend(page.lines[::-1])
        if page.lines:
            self.status.setText(f"{self.model.rowCount()} lines, following new ones")
        self._schedule_tail(0 if len(page.lines) == TAIL_LIMIT else None)  # behind: catch up

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._schedule_tail()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._tail_timer.stop()
