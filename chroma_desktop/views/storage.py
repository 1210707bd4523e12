"""Storage: what the history keeps and what it takes on disk — stats per tier (how far back raw
points and each rollup reach) and logs (lines, bytes, oldest line) — against the budgets the
admin sets here, so history never fills the workstation's disk.

Layer: chroma_desktop. Thread: the GUI thread; the readout is read on the history thread
(`History.storage`), refreshed when the screen is shown and every REFRESH_MS while it is, and
`History.set_budgets` saves and applies new budgets there (the oldest history goes first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chroma_desktop.failures import Failure
from chroma_desktop.history import StorageReadout
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.settings import GIB, StorageBudgets
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from chroma_desktop.widgets.tables import record_table
from core.errors import ChromaError
from core.queries.filesystems import format_bytes
from core.queries.text import when_text
from stats.store import TierUsage

REFRESH_MS: Final = 30_000


def _when(epoch: float | None) -> str:
    return "" if epoch is None else when_text(datetime.fromtimestamp(epoch, UTC))


class _Limit(QWidget):
    """A budget: a tick for "limited" and its amount (unticked: no limit)."""

    def __init__(self, unit: str, maximum: float, decimals: int) -> None:
        super().__init__()
        self.enabled = QCheckBox("limit to")
        self.amount = QDoubleSpinBox()
        self.amount.setRange(0.0 if decimals else 1.0, maximum)
        self.amount.setDecimals(decimals)
        self.amount.setSuffix(f" {unit}")
        self.enabled.toggled.connect(self.amount.setEnabled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.enabled)
        layout.addWidget(self.amount)
        layout.addStretch(1)

    def set_value(self, value: float | None) -> None:
        self.enabled.setChecked(value is not None)
        self.amount.setEnabled(value is not None)
        if value is not None:
            self.amount.setValue(value)

    def value(self) -> float | None:
        return self.amount.value() if self.enabled.isChecked() else None


class StorageView(LiveView):
    title = "Storage"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.stats_summary = QLabel()
        self.stats_summary.setWordWrap(True)
        self.tiers: RecordTableModel[TierUsage] = RecordTableModel(
            [
                Column("Tier", lambda t: t.name),
                Column(
                    "On disk",
                    lambda t: format_bytes(t.bytes),
                    sort_key=lambda t: t.bytes,
                    numeric=True,
                ),
                Column(
                    "Points", lambda t: f"{t.points:,}", sort_key=lambda t: t.points, numeric=True
                ),
                Column("Oldest", lambda t: _when(t.oldest)),
                Column("Newest", lambda t: _when(t.newest)),
            ],
            key=lambda t: t.name,
            parent=self,
        )
        self.stats_budget = _Limit("GiB", 100_000.0, 1)
        self.logs_summary = QLabel()
        self.logs_summary.setWordWrap(True)
        self.logs_budget = _Limit("GiB", 100_000.0, 1)
        self.logs_age = _Limit("days", 36_500.0, 0)
        self.apply = QPushButton("Apply budgets")
        self.apply.setToolTip(
            "Save the budgets and apply them now: the oldest history beyond them is removed."
        )
        self.apply.clicked.connect(self.apply_budgets)
        self.status = QLabel()
        self.status.setWordWrap(True)

        stats_box = QGroupBox("Stats")
        stats_form = QFormLayout(stats_box)
        stats_form.addRow(self.stats_summary)
        tiers_table = record_table(RecordFilterProxy(self.tiers, self))
        tiers_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # finest to coarsest, as kept
        tiers_table.setSortingEnabled(False)
        stats_form.addRow(tiers_table)
        stats_form.addRow("Size on disk:", self.stats_budget)
        logs_box = QGroupBox("Logs")
        logs_form = QFormLayout(logs_box)
        logs_form.addRow(self.logs_summary)
        logs_form.addRow("Size on disk:", self.logs_budget)
        logs_form.addRow("Age of the oldest line:", self.logs_age)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(stats_box, 1)
        layout.addWidget(logs_box)
        layout.addLayout(buttons)

        self._editing = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        if context.history is None:
            self.status.setText("No history in this session: nothing is stored.")
            self.apply.setEnabled(False)
        hide_when_read_only(context, self.apply)
        if context.read_only:
            for budget in (self.stats_budget, self.logs_budget, self.logs_age):
                budget.setEnabled(False)
        for widget in (self.stats_budget, self.logs_budget, self.logs_age):
            widget.enabled.toggled.connect(self._edited)
            widget.amount.valueChanged.connect(self._edited)

    # --- reading --------------------------------------------------------------------------------

    def load(self, on_result: Any, on_error: Any) -> None:
        history = self.context.history
        if history is None:
            on_result(None)
            return
        self.context.bridge.deliver(history.storage(), on_result, owner=self, on_error=on_error)

    def show_data(self, data: StorageReadout | None) -> None:
        if data is None:
            return
        if data.stats is None:
            self.stats_summary.setText("The stats store is not open.")
            self.tiers.set_rows([])
        else:
            text = data.stats.describe()
            self.stats_summary.setText(text[:1].upper() + text[1:] + ".")
            self.tiers.set_rows(list(data.stats.tiers))
        if data.logs is None:
            self.logs_summary.setText("The log store is not open.")
        else:
            logs = data.logs
            since = f", from {_when(logs.oldest_t)} to {_when(logs.newest_t)}" if logs.lines else ""
            self.logs_summary.setText(
                f"{logs.lines:,} lines take {format_bytes(logs.bytes_on_disk)} on disk{since}."
            )
        if data.problems:
            self.status.setText(" ".join(data.problems))
        if not self._editing:
            self._show_budgets(data.budgets)

    def _show_budgets(self, budgets: StorageBudgets) -> None:
        def gib(value: int | None) -> float | None:
            return None if value is None else value / GIB

        self.stats_budget.set_value(gib(budgets.stats_bytes))
        self.logs_budget.set_value(gib(budgets.log_bytes))
        self.logs_age.set_value(budgets.log_days)
        self._editing = False

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        self._refresh_timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._refresh_timer.stop()
        super().hideEvent(event)

    # --- changing the budgets -------------------------------------------------------------------

    def _edited(self, *_: object) -> None:
        self._editing = True

    def budgets(self) -> StorageBudgets:
        """The budgets as entered; raises ValidationError naming a value out of range."""

        def as_bytes(gib: float | None) -> int | None:
            return None if gib is None else round(gib * GIB)

        return StorageBudgets(
            stats_bytes=as_bytes(self.stats_budget.value()),
            log_bytes=as_bytes(self.logs_budget.value()),
            log_days=self.logs_age.value(),
        )

    def apply_budgets(self) -> None:
        history = self.context.history
        if history is None:
            return
        try:
            budgets = self.budgets()
        except ChromaError as error:
            self.status.setText(str(error))
            return
        self.apply.setEnabled(False)
        self.status.setText("Applying the budgets…")
        self.context.bridge.deliver(
            history.set_budgets(budgets), self._applied, owner=self, on_error=self._not_applied
        )

    def _applied(self, readout: StorageReadout) -> None:
        self.apply.setEnabled(True)
        self._editing = False
        self.show_data(readout)
        self.status.setText("Budgets saved and applied.")

    def _not_applied(self, failure: Failure) -> None:
        self.apply.setEnabled(True)
        self.status.setText(f"The budgets were not changed: {failure}")
