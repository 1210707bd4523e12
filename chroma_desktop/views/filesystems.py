"""Filesystems: every filesystem with its state, MGS, MDTs, OSTs and size; for the selected one
the command clients mount it with, its targets, what can be done to it and its conf params
editor; and the wizard that creates a new one.

Layer: chroma_desktop. Thread: the GUI thread (rows read on the database worker by
`core.queries.filesystems`). The mount command is built from the MGS servers' NIDs, so it
appears once LNet has reported them; until then the screen says why it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)
from sqlalchemy.orm import Session

from chroma_desktop.dialogs.conf_params import ConfParamsDialog
from chroma_desktop.dialogs.create_filesystem import CreateFilesystemDialog
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from chroma_desktop.views.targets import GOOD, target_columns, target_table
from chroma_desktop.widgets.actions import ObjectActions, command_outcome
from chroma_desktop.widgets.tables import filter_box, record_table
from core.queries.filesystems import (
    FilesystemRow,
    TargetRow,
    filesystem_rows,
    format_bytes,
    target_rows,
)
from core.scheduler import CommandChanged, ObjectChanged
from core.scheduler.world import FILESYSTEM, HOST, LNET, TARGET
from core.states import FilesystemState

NO_MOUNT_COMMAND = "Known once LNet on the MGS servers has reported their NIDs."


@dataclass(frozen=True)
class FilesystemsData:
    filesystems: list[FilesystemRow]
    targets: list[TargetRow]


class FilesystemsView(LiveView):
    title = "Filesystems"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.model: RecordTableModel[FilesystemRow] = RecordTableModel(
            [
                Column("Name", lambda f: f.name),
                Column(
                    "State",
                    lambda f: f.state.value + (" (monitor only)" if f.monitor_only else ""),
                    colour=lambda f: GOOD if f.state == FilesystemState.AVAILABLE else None,
                ),
                Column("MGS server", lambda f: f.mgs_server),
                Column("MDT", lambda f: ", ".join(f.mdts)),
                Column("OSTs", lambda f: f.ost_count, sort_key=lambda f: f.ost_count, numeric=True),
                Column(
                    "Size",
                    lambda f: format_bytes(f.size_bytes),
                    sort_key=lambda f: f.size_bytes or 0,
                    numeric=True,
                    header_tip="The sum of its OSTs' volumes",
                ),
            ],
            key=lambda f: f.id,
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.new_button = QPushButton("New filesystem…")
        self.new_button.clicked.connect(self.open_wizard)
        hide_when_read_only(context, self.new_button)
        self.filter = filter_box(self.proxy, "Filter filesystems (every word must match)")
        self.table = record_table(self.proxy)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # a few rows
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = QLabel("No filesystems yet. Create one with “New filesystem…”.")
        self.empty.hide()
        self.status = QLabel()
        self.status.hide()

        self.mount_command = QLineEdit()
        self.mount_command.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy_mount_command)
        self.targets_model: RecordTableModel[TargetRow] = RecordTableModel(
            target_columns(with_filesystem=False), key=lambda t: t.id, parent=self
        )
        self.targets_proxy = RecordFilterProxy(self.targets_model, self)
        self.targets_table = target_table(self.targets_proxy)
        self.object_actions = ObjectActions(context)
        self.conf_params_button = QPushButton("Conf params…")
        self.conf_params_button.setToolTip(
            "Lustre parameters of this filesystem and its targets: see, change and apply them"
        )
        self.conf_params_button.clicked.connect(self.open_conf_params)
        self.conf_params: ConfParamsDialog | None = None
        self.detail = QGroupBox()
        mount_row = QHBoxLayout()
        mount_row.addWidget(QLabel("Clients mount it with:"))
        mount_row.addWidget(self.mount_command, 1)
        mount_row.addWidget(self.copy_button)
        mount_row.addWidget(self.conf_params_button)
        detail_layout = QVBoxLayout(self.detail)
        detail_layout.addLayout(mount_row)
        detail_layout.addWidget(self.targets_table, 1)
        detail_layout.addWidget(self.object_actions)
        self.detail.hide()

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail, 2)
        self.wizard: CreateFilesystemDialog | None = None
        self._targets: list[TargetRow] = []
        self._command_id: int | None = None

    # --- data -----------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, CommandChanged) and event.command_id == self._command_id:
            self._command_changed(event)
        return isinstance(event, ObjectChanged) and event.ref[0] in (
            FILESYSTEM,
            TARGET,
            HOST,
            LNET,
        )

    def fetch(self, session: Session) -> FilesystemsData:
        return FilesystemsData(filesystem_rows(session), target_rows(session))

    def show_data(self, data: FilesystemsData) -> None:
        self._targets = data.targets
        self.model.set_rows(data.filesystems)
        self.empty.setVisible(not data.filesystems)
        self._selected()

    # --- the selected filesystem ----------------------------------------------------------------

    def selected(self) -> FilesystemRow | None:
        found: FilesystemRow | None = self.proxy.selected(self.table)
        return found

    def select(self, name: str) -> bool:
        """Select the filesystem called `name` (False when no row shown has it)."""
        return self.proxy.select_first(self.table, lambda row: row.name == name)

    def _selected(self) -> None:
        filesystem = self.selected()
        if filesystem is None:
            self.detail.hide()
            self.object_actions.set_subject(None)
            self.targets_model.set_rows([])
            return
        self.detail.setTitle(f"{filesystem.name}: {filesystem.state.value}")
        self.detail.show()
        command = filesystem.mount_command
        self.mount_command.setText(command or NO_MOUNT_COMMAND)
        self.copy_button.setEnabled(command is not None)
        self.targets_model.set_rows([t for t in self._targets if filesystem.id in t.filesystem_ids])
        if self.object_actions.ref != (FILESYSTEM, filesystem.id):
            self.object_actions.set_subject((FILESYSTEM, filesystem.id), filesystem.name)

    def copy_mount_command(self) -> None:
        filesystem = self.selected()
        if filesystem is not None and filesystem.mount_command is not None:
            QGuiApplication.clipboard().setText(filesystem.mount_command)

    # --- conf params ----------------------------------------------------------------------------

    def open_conf_params(self) -> ConfParamsDialog | None:
        """The conf params editor of the selected filesystem (the open one, if any)."""
        filesystem = self.selected()
        if filesystem is None:
            return None
        if self.conf_params is not None and self.conf_params.filesystem_id == filesystem.id:
            self.conf_params.raise_()
            return self.conf_params
        if self.conf_params is not None:
            self.conf_params.reject()
        self.conf_params = dialog = ConfParamsDialog(
            self.context, filesystem.id, filesystem.name, self
        )
        dialog.finished.connect(lambda _result: self._conf_params_closed(dialog))
        dialog.open()
        return dialog

    def _conf_params_closed(self, dialog: QDialog) -> None:
        dialog.deleteLater()
        if self.conf_params is dialog:
            self.conf_params = None

    # --- the wizard -----------------------------------------------------------------------------

    def open_wizard(self) -> CreateFilesystemDialog:
        """Show the create-filesystem wizard (the open one, if any)."""
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return self.wizard
        self.wizard = wizard = CreateFilesystemDialog(self.context, self)
        wizard.command_started.connect(self._creating)
        wizard.finished.connect(lambda _result: self._wizard_closed(wizard))
        wizard.open()
        return wizard

    def _wizard_closed(self, wizard: QDialog) -> None:
        wizard.deleteLater()
        if self.wizard is wizard:
            self.wizard = None

    def _creating(self, command_id: int) -> None:
        self._command_id = command_id
        self.status.setText(
            f"Creating the filesystem: command {command_id} is running; its progress is on the "
            "Commands screen."
        )
        self.status.show()
        self.refresh()

    def _command_changed(self, event: CommandChanged) -> None:
        if not event.state.finished:
            return
        self._command_id = None
        self.status.setText(command_outcome(event, "succeeded: the filesystem is up."))
