"""Alerts: what is wrong now (started, severity, subject, message) and what was wrong before
(started, ended, subject, message), the evidence of the selected alert, and Dismiss.

Layer: chroma_desktop. Thread: the GUI thread (alerts read on the database worker by
`core.queries.alerts`; a dismissal is `AlertEngine.dismiss`, also on the worker). The screen
reloads when the alert engine raises, clears or dismisses an alert, and after a dismissal made
here. A dismissed alert stays in the active list, marked, until its condition clears: dismissing
says "I have seen it", not "it is over".
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
)
from sqlalchemy.orm import Session

from chroma_desktop.failures import Failure
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from chroma_desktop.widgets.tables import filter_box, record_table
from core.alerts import AlertChange, AlertRecord
from core.models import Severity
from core.queries.alerts import AlertsPage, AlertSummary, alerts_page
from core.queries.text import when_text

SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.CRITICAL: "#b02a1a",
    Severity.ERROR: "#b02a1a",
    Severity.WARNING: "#8a6d00",
}


def _severity_colour(alert: AlertSummary) -> str | None:
    return SEVERITY_COLOURS.get(alert.alert.severity)


class AlertsView(LiveView):
    title = "Alerts"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self._dismissing: set[int] = set()
        self.active: RecordTableModel[AlertSummary] = RecordTableModel(
            [
                Column("Started", lambda a: when_text(a.started), sort_key=lambda a: a.started),
                Column(
                    "Severity",
                    lambda a: a.severity_text,
                    sort_key=lambda a: a.alert.severity,
                    colour=_severity_colour,
                ),
                Column("Subject", lambda a: a.subject),
                Column(
                    "Message",
                    lambda a: (
                        a.message
                        + (f" (dismissed by {a.alert.dismissed_by})" if a.dismissed else "")
                    ),
                ),
            ],
            key=lambda a: a.id,
            parent=self,
        )
        self.history: RecordTableModel[AlertSummary] = RecordTableModel(
            [
                Column("Started", lambda a: when_text(a.started), sort_key=lambda a: a.started),
                Column("Ended", lambda a: when_text(a.ended), sort_key=lambda a: a.ended),
                Column("Subject", lambda a: a.subject),
                Column("Message", lambda a: a.message),
            ],
            key=lambda a: a.id,
            parent=self,
        )
        self.active_proxy = RecordFilterProxy(self.active, self)
        self.history_proxy = RecordFilterProxy(self.history, self)
        self.filter = filter_box(self.active_proxy, "Filter alerts (every word must match)")
        self.filter.textChanged.connect(self.history_proxy.set_filter_text)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip(
            "Mark the selected alert as seen; it stays listed until its cause clears"
        )
        self.dismiss_button.setEnabled(False)
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        hide_when_read_only(context, self.dismiss_button)

        newest_first = Qt.SortOrder.DescendingOrder
        self.active_table = record_table(self.active_proxy, order=newest_first)
        self.history_table = record_table(self.history_proxy, order=newest_first)
        self.active_table.selectionModel().selectionChanged.connect(
            lambda *_: self._chose(self.active_table)
        )
        self.history_table.selectionModel().selectionChanged.connect(
            lambda *_: self._chose(self.history_table)
        )
        self.no_alerts = QLabel("No active alerts: every server, target and job is as expected.")
        self.no_alerts.hide()
        self.more_label = QLabel()
        self.more_label.hide()
        self.evidence_box = QGroupBox("Evidence")
        self.evidence_label = QLabel("Select an alert to see what raised it.")
        self.evidence_label.setWordWrap(True)
        self.evidence_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence = QPlainTextEdit()
        self.evidence.setReadOnly(True)
        evidence_layout = QVBoxLayout(self.evidence_box)
        evidence_layout.addWidget(self.evidence_label)
        evidence_layout.addWidget(self.evidence, 1)
        self._shown: AlertSummary | None = None

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.dismiss_button)
        active_box = QGroupBox("Active alerts")
        active_layout = QVBoxLayout(active_box)
        active_layout.addWidget(self.no_alerts)
        active_layout.addWidget(self.active_table, 1)
        history_box = QGroupBox("Alert history")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.history_table, 1)
        history_layout.addWidget(self.more_label)
        split = QSplitter(Qt.Orientation.Vertical)
        for pane in (active_box, history_box, self.evidence_box):
            split.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    # --- LiveView -------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        return isinstance(event, AlertChange)

    def fetch(self, session: Session) -> AlertsPage:
        return alerts_page(session)

    def show_data(self, data: AlertsPage) -> None:
        self.active.set_rows(data.active)
        self.history.set_rows(data.history)
        self.no_alerts.setVisible(not data.active)
        self.more_label.setVisible(data.more_history > 0)
        self.more_label.setText(f"{data.more_history} older alerts are not shown.")
        if self._shown is not None:  # show the selected alert as it is now (or not at all)
            self._chose(
                self.active_table
                if self.active_table.selectionModel().hasSelection()
                else self.history_table
            )

    # --- what the admin does --------------------------------------------------------------------

    def selected(self) -> AlertSummary | None:
        return self._shown

    def dismiss_selected(self) -> None:
        """Dismiss the selected active alert, as the admin, on the database worker."""
        alert = self._shown
        if alert is None or alert.dismissed or alert.ended is not None:
            return
        alert_id, actor, engine = alert.id, self.context.actor, self.context.manager.alerts
        self._dismissing.add(alert_id)
        self._update_dismiss()

        def dismiss(session: Session) -> AlertRecord:
            return engine.dismiss(alert_id, actor=actor)

        self.context.query(
            dismiss,
            lambda _: self._dismissed(alert_id),
            owner=self,
            on_error=lambda failure: self._dismiss_failed(alert_id, failure),
        )

    # --- inside ---------------------------------------------------------------------------------

    def _dismissed(self, alert_id: int) -> None:
        self._dismissing.discard(alert_id)
        self.refresh()  # the engine does not announce dismissals: read them here

    def _dismiss_failed(self, alert_id: int, failure: Failure) -> None:
        self._dismissing.discard(alert_id)
        self._update_dismiss()
        self.context.bridge.failed.emit(failure)

    def _chose(self, table: QTableView) -> None:
        other = self.history_table if table is self.active_table else self.active_table
        rows = table.selectionModel().selectedRows()
        if rows and other.selectionModel().hasSelection():
            other.selectionModel().blockSignals(True)
            other.clearSelection()
            other.selectionModel().blockSignals(False)
            other.viewport().update()
        alert: AlertSummary | None = None
        if rows:
            proxy = table.model()
            assert isinstance(proxy, RecordFilterProxy)
            model = self.active if proxy is self.active_proxy else self.history
            alert = model.record(proxy.mapToSource(rows[0]).row())
        self._shown = alert
        self._show_evidence(alert)
        self._update_dismiss()

    def _update_dismiss(self) -> None:
        alert = self._shown
        busy = alert is not None and alert.id in self._dismissing
        self.dismiss_button.setText("Dismissing…" if busy else "Dismiss")
        self.dismiss_button.setEnabled(
            alert is not None and alert.ended is None and not alert.dismissed and not busy
        )

    def _show_evidence(self, alert: AlertSummary | None) -> None:
        if alert is None:
            self.evidence_box.setTitle("Evidence")
            self.evidence_label.setText("Select an alert to see what raised it.")
            self.evidence.clear()
            return
        record = alert.alert
        self.evidence_box.setTitle(f"Evidence: {alert.subject}")
        facts = [
            f"<b>{escape(alert.message)}</b>",
            f"{alert.severity_text.capitalize()} {record.kind.value.replace('_', ' ')} alert on "
            f"{escape(alert.subject)}, raised {when_text(record.raised_at)}, last seen "
            f"{when_text(record.last_seen_at)}",
        ]
        if record.cleared_at is not None:
            facts.append(f"Ended {when_text(record.cleared_at)}")
        if record.dismissed_at is not None:
            by = escape(record.dismissed_by or "")
            facts.append(f"Dismissed by {by} {when_text(record.dismissed_at)}")
        self.evidence_label.setText("<br>".join(facts))
        text = alert.evidence or "No evidence was kept for this alert."
        if self.evidence.toPlainText() != text:
            self.evidence.setPlainText(text)
