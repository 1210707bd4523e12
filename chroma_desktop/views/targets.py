"""Targets: every MGT, MDT and OST of every filesystem in one dense, sortable, filterable table,
ltop-style, with what can be done to the selected one (start, stop, failover …).

Layer: chroma_desktop. Thread: the GUI thread (rows read on the database worker by
`core.queries.filesystems.target_rows`). Built for 10,000 targets: cells are computed from
frozen records only when painted, and filtering matches the text each row was given once
(`RecordFilterProxy`), so typing in the filter costs one pass over precomputed strings. A target
running away from its primary server shows its active server in amber. The live columns (read
and write bandwidth, space used, metadata operations) are each target's latest figures from the
history stores, read on their thread every FIGURES_EVERY_MS while the screen is shown; they are
not part of the filter text, since they change under the admin's typing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Final

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
)
from sqlalchemy.orm import Session

from chroma_desktop.history import TargetFigures
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView
from chroma_desktop.widgets.actions import ObjectActions
from chroma_desktop.widgets.tables import record_table
from core.alerts import AlertChange
from core.queries.filesystems import TargetRow, format_bytes, target_rows
from core.scheduler import ObjectChanged
from core.scheduler.world import FILESYSTEM, HOST, TARGET
from core.states import TargetState
from plugins.runner import PluginOutcome

GOOD, WARN, BAD = "#1e7e34", "#a66a00", "#b02a1a"
FIGURES_EVERY_MS: Final = 5_000
"""How often the live columns are read again while the screen is shown."""
NO_FIGURES: Final = TargetFigures(math.nan, math.nan, math.nan, math.nan)
_STATE_COLOURS = {
    TargetState.MOUNTED: GOOD,
    TargetState.UNMOUNTED: BAD,
    TargetState.UNFORMATTED: WARN,
    TargetState.FORMATTED: WARN,
    TargetState.REGISTERED: WARN,
}


def _active(row: TargetRow) -> str:
    return row.active or "not running"


def _active_colour(row: TargetRow) -> str | None:
    if row.active is None:
        return BAD if row.state == TargetState.MOUNTED else None
    return WARN if row.active != row.primary else None


def _recovery(row: TargetRow) -> str:
    return "recovering" if row.recovering else ""


def _rate_text(value: float) -> str:
    return "" if math.isnan(value) else f"{format_bytes(round(value))}/s"


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def figure_columns(figures: Mapping[str, TargetFigures]) -> list[Column[TargetRow]]:
    """Live columns: each target's latest figures from the history stores, looked up in
    `figures` (kept up to date by the view) by the target's name."""

    def of(row: TargetRow) -> TargetFigures:
        return figures.get(row.name, NO_FIGURES)

    def live(
        title: str,
        text: Callable[[TargetFigures], str],
        value: Callable[[TargetFigures], float],
        tip: str,
    ) -> Column[TargetRow]:
        return Column(
            title,
            lambda row: text(of(row)),
            sort_key=lambda row: _number(value(of(row))),
            numeric=True,
            header_tip=tip,
            live=True,
        )

    return [
        live(
            "Read",
            lambda f: _rate_text(f.read_bps),
            lambda f: f.read_bps,
            "Bytes read per second, now",
        ),
        live(
            "Write",
            lambda f: _rate_text(f.write_bps),
            lambda f: f.write_bps,
            "Bytes written per second, now",
        ),
        live(
            "Used",
            lambda f: "" if math.isnan(f.used_pct) else f"{f.used_pct:.0f} %",
            lambda f: f.used_pct,
            "Share of the target's space in use",
        ),
        live(
            "Ops/s",
            lambda f: "" if math.isnan(f.metadata_ops) else f"{f.metadata_ops:,.0f}",
            lambda f: f.metadata_ops,
            "Metadata operations per second (MDTs), now",
        ),
    ]


def target_columns(
    *, with_filesystem: bool, figures: Mapping[str, TargetFigures] | None = None
) -> list[Column[TargetRow]]:
    """The columns of a target table; the Filesystems screen leaves out the filesystem. With
    `figures`, each target's live figures follow where it runs, as in ltop."""
    columns: list[Column[TargetRow]] = [Column("Name", lambda t: t.name)]
    if with_filesystem:
        columns.append(Column("Filesystem", lambda t: t.filesystem))
    columns += [
        Column("Kind", lambda t: t.kind.value),
        Column("State", lambda t: t.state.value, colour=lambda t: _STATE_COLOURS.get(t.state)),
        Column(
            "Active server",
            _active,
            colour=_active_colour,
            tooltip=lambda t: (
                f"{t.name} runs on its failover server"
                if t.active is not None and t.active != t.primary
                else None
            ),
        ),
        *(figure_columns(figures) if figures is not None else ()),
        Column("Primary", lambda t: t.primary),
        Column("Failover", lambda t: ", ".join(t.failover)),
        Column("Volume", lambda t: t.volume),
        Column(
            "Size",
            lambda t: format_bytes(t.size_bytes),
            sort_key=lambda t: t.size_bytes or 0,
            numeric=True,
        ),
        Column("Recovery", _recovery, colour=lambda t: WARN if t.recovering else None),
    ]
    return columns


WIDTHS = {
    "Name": 170,
    "Filesystem": 90,
    "Kind": 50,
    "State": 95,
    "Active server": 120,
    "Primary": 120,
    "Failover": 120,
    "Volume": 280,
    "Size": 80,
    "Read": 85,
    "Write": 85,
    "Used": 55,
    "Ops/s": 70,
}
"""Fixed column widths: measuring 10,000 rows' contents would cost more than it shows."""


def target_table(proxy: RecordFilterProxy) -> QTableView:
    """A dense, sortable, row-selecting table of targets."""
    table = record_table(proxy)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    model = proxy.sourceModel()
    assert isinstance(model, RecordTableModel)
    for section, column in enumerate(model.columns):
        table.setColumnWidth(section, WIDTHS.get(column.title, 100))
    # Rows arrive in a useful order; sort only when the admin clicks a header, so that a filter
    # typed into 10,000 rows never waits for a sort nobody asked for.
    table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    return table


class TargetsView(LiveView):
    title = "Targets"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.figures: dict[str, TargetFigures] = {}
        self.model: RecordTableModel[TargetRow] = RecordTableModel(
            target_columns(with_filesystem=True, figures=self.figures),
            key=lambda t: t.id,
            parent=self,
        )
        self._figures_timer = QTimer(self)
        self._figures_timer.setInterval(FIGURES_EVERY_MS)
        self._figures_timer.timeout.connect(self.read_figures)
        self.proxy = RecordFilterProxy(self.model, self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(
            "Filter targets: every word must match (e.g. OST mounted sim-oss1)"
        )
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.count = QLabel()
        self.table = target_table(self.proxy)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = QLabel("No targets yet. Create a filesystem on the Filesystems screen.")
        self.empty.hide()
        self.selected_label = QLabel()
        self.object_actions = ObjectActions(context)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.selected_label)
        layout.addWidget(self.object_actions)
        self._selected()

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, ObjectChanged):
            return event.ref[0] in (TARGET, FILESYSTEM, HOST)
        if isinstance(event, AlertChange):
            return event.subject_kind == TARGET
        return isinstance(event, PluginOutcome) and bool(event.changes)

    def fetch(self, session: Session) -> list[TargetRow]:
        return target_rows(session)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.read_figures()
        self._figures_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._figures_timer.stop()
        super().hideEvent(event)

    def read_figures(self) -> None:
        """Ask the history stores for every target's latest figures (on their thread)."""
        history = self.context.history
        if history is None:
            return
        self.context.bridge.deliver(
            # a store that cannot be read was told once when it failed to open: blank columns
            history.target_figures(),
            self._show_figures,
            owner=self,
            on_error=lambda _: None,
        )

    def _show_figures(self, figures: dict[str, TargetFigures]) -> None:
        if figures == self.figures:
            return
        self.figures.clear()
        self.figures.update(figures)
        self.model.live_values_changed()

    def show_data(self, data: list[TargetRow]) -> None:
        self.model.set_rows(data)
        self.empty.setVisible(not data)
        self._count()
        self._selected()

    def _filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._count()

    def _count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{total:,} targets" if shown == total else f"{shown:,} of {total:,}")

    def selected(self) -> TargetRow | None:
        found: TargetRow | None = self.proxy.selected(self.table)
        return found

    def select(self, name: str) -> bool:
        """Select the target called `name` (False when no row shown has it)."""
        return self.proxy.select_first(self.table, lambda row: row.name == name)

    def _selected(self) -> None:
        target = self.selected()
        if target is None:
            self.selected_label.setText("Select a target to see what can be done to it.")
            self.object_actions.set_subject(None)
            return
        where = f" of {target.filesystem}" if target.filesystem else ""
        self.selected_label.setText(f"{target.name}{where}: {target.state.value}")
        if self.object_actions.ref != (TARGET, target.id):
            self.object_actions.set_subject((TARGET, target.id), target.name)
