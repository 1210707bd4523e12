"""The conf params editor of one filesystem: every parameter of the filesystem, its MDTs and its
OSTs, with the value saved, the value the servers have, and what the MGS reports when someone
changed it by hand; edits are collected, saved together, then applied to the servers through the
"Apply conf params" plan.

Layer: chroma_desktop. Thread: the GUI thread; the sheet is read and saved on the database worker
(`core.queries.confparams`), and the apply job is planned and run by the scheduler. A value that
breaks the catalogue's rule is refused with the rule, and nothing of the batch is saved.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Final

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chroma_desktop.failures import Failure
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, hide_when_read_only
from chroma_desktop.widgets.actions import (
    PlannedRequest,
    command_outcome,
    preview_job,
    request_job,
)
from chroma_desktop.widgets.tables import record_table
from core.queries.confparams import (
    ConfParamChange,
    ConfParamRow,
    ConfParamSheet,
    conf_param_sheet,
    save_conf_params,
)
from core.scheduler import CommandChanged, ObjectChanged
from core.scheduler.world import FILESYSTEM, TARGET

APPLY_JOB: Final = "ApplyConfParamsJob"
PENDING, CHANGED_BY_HAND, UNSAVED = "#a66a00", "#b02a1a", "#1f5fa8"
DEFAULT = "default"


def _shown(value: str | None) -> str:
    return DEFAULT if value is None else value


class ConfParamsDialog(QDialog):
    def __init__(
        self, context: AppContext, filesystem_id: int, name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.filesystem_id = filesystem_id
        self.setWindowTitle(f"Conf params of {name}")
        self.resize(1000, 600)
        self.sheet: ConfParamSheet | None = None
        self.edits: dict[tuple[str, str], str | None] = {}
        """Unsaved changes: (subject, key) → the new value (None: back to Lustre's default)."""

        self.subject_box = QComboBox()
        self.subject_box.currentIndexChanged.connect(self._show_rows)
        self.model: RecordTableModel[ConfParamRow] = RecordTableModel(
            [
                Column("Parameter", lambda r: r.key, tooltip=lambda r: r.lustre_key),
                Column(
                    "Value",
                    lambda r: (
                        _shown(r.value) + (" (unsaved)" if (r.subject, r.key) in self.edits else "")
                    ),
                    colour=lambda r: UNSAVED if (r.subject, r.key) in self.edits else None,
                ),
                Column(
                    "On the servers",
                    lambda r: _shown(r.applied) + (" (pending)" if r.pending else ""),
                    colour=lambda r: PENDING if r.pending else None,
                    header_tip="What the last 'Apply conf params' sent",
                ),
                Column(
                    "MGS reports",
                    lambda r: "" if r.reported is None else f"{r.reported} (changed by hand)",
                    colour=lambda r: CHANGED_BY_HAND if r.reported is not None else None,
                    header_tip="Shown when the MGS holds another value than the one we set",
                ),
                Column("Description", lambda r: r.help),
            ],
            key=lambda r: (r.subject, r.key),
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.table = record_table(self.proxy)
        for column, width in enumerate((260, 110, 130, 170)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._row_selected)
        self.value = QLineEdit()
        self.value.setPlaceholderText("New value, e.g. 100 or 1M")
        self.value.returnPressed.connect(self.set_value)
        self.set_button = QPushButton("Set")
        self.set_button.clicked.connect(self.set_value)
        self.default_button = QPushButton("Use Lustre's default")
        self.default_button.clicked.connect(self.clear_value)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.apply_button = QPushButton("Apply to the servers…")
        self.apply_button.setToolTip("Plan and run 'Apply conf params' on the MGS")
        self.apply_button.clicked.connect(self.apply)
        self.status = QLabel("Reading the parameters…")
        self.status.setWordWrap(True)
        self.planner = PlannedRequest(context, self)
        self.planner.started.connect(self._applying)
        self._applying_command: int | None = None
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(QLabel("Parameters of"))
        top.addWidget(self.subject_box, 1)
        edit = QHBoxLayout()
        edit.addWidget(self.value, 1)
        edit.addWidget(self.set_button)
        edit.addWidget(self.default_button)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.save_button)
        actions.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(edit)
        layout.addLayout(actions)
        layout.addWidget(buttons)
        self._update_buttons()
        hide_when_read_only(
            context,
            self.value,
            self.set_button,
            self.default_button,
            self.save_button,
            self.apply_button,
        )
        context.bridge.subscribe(self, self._on_event)
        self.reload()

    # --- reading --------------------------------------------------------------------------------

    def reload(self) -> None:
        ident = self.filesystem_id
        self.context.query(
            lambda session: conf_param_sheet(session, ident),
            self._show_sheet,
            owner=self,
            on_error=self._failed,
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, CommandChanged) and event.command_id == self._applying_command:
            if event.state.finished:
                self._applied(event)
            return
        if not isinstance(event, ObjectChanged) or self.sheet is None:
            return
        if event.ref in ((TARGET, self.sheet.mgs_id), (FILESYSTEM, self.filesystem_id)):
            self.reload()  # its targets changed, or the filesystem did

    def _show_sheet(self, sheet: ConfParamSheet) -> None:
        first = self.sheet is None
        self.sheet = sheet
        if list(sheet.subjects) != [
            self.subject_box.itemText(i) for i in range(self.subject_box.count())
        ]:
            current = self.subject_box.currentText()
            self.subject_box.blockSignals(True)
            self.subject_box.clear()
            self.subject_box.addItems(list(sheet.subjects))
            if current in sheet.subjects:
                self.subject_box.setCurrentText(current)
            self.subject_box.blockSignals(False)
        self._show_rows()
        if first:
            self.status.setText(self._summary())
        self._update_buttons()

    def _show_rows(self) -> None:
        if self.sheet is None:
            return
        subject = self.subject_box.currentText()
        rows = [
            replace(row, value=self.edits[(row.subject, row.key)])
            if (row.subject, row.key) in self.edits
            else row
            for row in self.sheet.rows_of(subject)
        ]
        self.model.set_rows(rows)
        self._row_selected()

    def _summary(self) -> str:
        assert self.sheet is not None
        changed = sum(row.reported is not None for row in self.sheet.rows)
        pending = sum(row.pending for row in self.sheet.rows)
        parts = []
        if pending:
            parts.append(f"{pending} saved value(s) are not on the servers yet.")
        if changed:
            parts.append(f"{changed} parameter(s) were changed by hand on the MGS.")
        return " ".join(parts) or "The servers have every value saved."

    # --- editing --------------------------------------------------------------------------------

    def selected(self) -> ConfParamRow | None:
        found: ConfParamRow | None = self.proxy.selected(self.table)
        return found

    def select(self, subject: str, key: str) -> bool:
        """Show `subject`'s parameters and select `key` (False when it has no such key)."""
        self.subject_box.setCurrentText(subject)
        return self.proxy.select_first(self.table, lambda row: row.key == key)

    def _row_selected(self) -> None:
        row = self.selected()
        self.value.setText("" if row is None or row.value is None else row.value)
        self._update_buttons()

    def set_value(self) -> None:
        self._edit(self.value.text().strip())

    def clear_value(self) -> None:
        self._edit(None)

    def _edit(self, value: str | None) -> None:
        row = self.selected()
        if row is None or self.sheet is None:
            return
        saved = next(r.value for r in self.sheet.rows_of(row.subject) if r.key == row.key)
        if value == saved:
            self.edits.pop((row.subject, row.key), None)
        else:
            self.edits[(row.subject, row.key)] = value
        self._show_rows()
        self.status.setText(
            f"{len(self.edits)} unsaved change(s)." if self.edits else self._summary()
        )

    # --- saving and applying --------------------------------------------------------------------

    def save(self) -> None:
        if not self.edits:
            return
        changes = [ConfParamChange(s, k, v) for (s, k), v in sorted(self.edits.items())]
        ident = self.filesystem_id
        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        self.context.bridge.deliver(
            self.context.manager.worker.submit(
                lambda session: save_conf_params(session, ident, changes),
                actor=self.context.actor,
            ),
            self._saved,
            owner=self,
            on_error=self._failed,
        )

    def _saved(self, version: int) -> None:
        count = len(self.edits)
        self.edits.clear()
        self.status.setText(
            f"{count} change(s) saved as version {version}. Apply them to the servers for "
            "them to take effect."
        )
        self.reload()

    def apply(self) -> None:
        if self.sheet is None:
            return
        ref = (TARGET, self.sheet.mgs_id)
        self.planner.run(
            partial(preview_job, ref=ref, kind=APPLY_JOB),
            partial(request_job, ref=ref, kind=APPLY_JOB, actor=self.context.actor),
        )

    def _applying(self, command_id: int) -> None:
        self._applying_command = command_id
        self.status.setText(
            f"Applying: command {command_id} is running; its progress is on the Commands screen."
        )

    def _applied(self, event: CommandChanged) -> None:
        self._applying_command = None
        self.status.setText(command_outcome(event, "applied the values to the servers."))
        self.reload()

    def _failed(self, failure: Failure) -> None:
        self.status.setText(str(failure))
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self.context.read_only:
            return
        row = self.selected()
        self.set_button.setEnabled(row is not None)
        self.default_button.setEnabled(row is not None)
        self.value.setEnabled(row is not None)
        self.save_button.setEnabled(bool(self.edits))
        pending = self.sheet is not None and self.sheet.pending
        self.apply_button.setEnabled(pending and not self.edits)
