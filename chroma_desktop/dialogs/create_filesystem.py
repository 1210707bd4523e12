"""The create-filesystem wizard: one dialog in IML's five sections (name, MGT, MDT, OSTs, plan),
whose "Show plan…" asks the scheduler what creating it would do and runs it once the admin
accepts that plan.

Layer: chroma_desktop. Thread: the GUI thread; the volumes are read, and the plan made and
started, on the database worker. Names and inode options are checked as the admin types by
core's own rules (`core.validation`), so the wizard says what Lustre allows in the words the
CLI uses; what only the scheduler can check (an MGS already serving that name, a volume taken
meanwhile) comes back from the plan and is shown beside its field. A volume picked in one
section disappears from the others. `command_started` carries the new command's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from chroma_desktop.dialogs.plan import PlanDialog
from chroma_desktop.failures import Failure
from chroma_desktop.itemmodels.records import (
    Column,
    Index,
    RecordFilterProxy,
    RecordTableModel,
)
from core.errors import ChromaError, ValidationError
from core.inventory import InodeOptions
from core.models import HaStatus
from core.queries.filesystems import (
    FilesystemChoices,
    VolumeChoice,
    filesystem_choices,
    format_bytes,
)
from core.scheduler import FilesystemRequest, ObjectChanged, PlanPreview, Scheduler
from core.scheduler.world import TARGET
from core.validation import VALID_INODE_SIZES, validate_fsname, validate_inode_options
from plugins.runner import PluginOutcome
from plugins.store import ChangeKind

if TYPE_CHECKING:  # views import this dialog; at run time the context is only passed in
    from chroma_desktop.views.base import AppContext

ERROR_STYLE = "color: #b02a1a;"
HA_STATUS_TEXT = {
    HaStatus.CONFIGURED_HA: "Configured (HA)",
    HaStatus.CONFIGURED_NOHA: "Configured (no HA)",
    HaStatus.UNCONFIGURED: "Unconfigured",
}
DEFAULT_INODE_SIZE = 512
DEFAULT_BYTES_PER_INODE = 2048
VOLUME_CHANGES = frozenset(
    {
        ChangeKind.VOLUME_ADDED,
        ChangeKind.VOLUME_REMOVED,
        ChangeKind.VOLUME_NODE_ADDED,
        ChangeKind.VOLUME_NODE_REMOVED,
        ChangeKind.PRIMARY_CHOSEN,
    }
)


def changes_volumes(event: object) -> bool:
    """True when `event` may change which volumes are usable."""
    if isinstance(event, PluginOutcome):
        return any(change.kind in VOLUME_CHANGES for change in event.changes)
    return isinstance(event, ObjectChanged) and event.ref[0] == TARGET


@dataclass(frozen=True)
class _Refused:
    """What the scheduler refused, and the field it names (None: the request as a whole)."""

    field: str | None
    message: str


def _preview(scheduler: Scheduler, request: FilesystemRequest) -> PlanPreview | _Refused:
    try:
        return scheduler.preview_create_filesystem(request)
    except ValidationError as error:
        return _Refused(error.field, str(error))
    except ChromaError as error:
        return _Refused(None, str(error))


def _create(scheduler: Scheduler, request: FilesystemRequest, actor: str) -> int:
    return scheduler.create_filesystem(request, actor=actor, confirmed=True)


class _UnchosenVolumes(RecordFilterProxy):
    """The volumes not picked in another section, still filtered by the words typed."""

    def __init__(self, source: RecordTableModel[VolumeChoice], parent: QObject) -> None:
        super().__init__(source, parent)
        self._volumes = source
        self._hidden: frozenset[int] = frozenset()

    def hide_ids(self, ids: frozenset[int]) -> None:
        if ids != self._hidden:
            self.beginFilterChange()
            self._hidden = ids
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._volumes.record(source_row).id in self._hidden:
            return False
        return super().filterAcceptsRow(source_row, source_parent)


class VolumeChooser(QWidget):
    """A table of usable volumes (name, capacity, primary, failover, HA) to pick one or several
    from; the pick is shown as "<name> (<capacity>) on <primary>"."""

    chosen_changed = Signal()

    def __init__(self, *, multiple: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: RecordTableModel[VolumeChoice] = RecordTableModel(
            [
                Column("Name", lambda v: v.name),
                Column(
                    "Capacity",
                    lambda v: format_bytes(v.size_bytes),
                    sort_key=lambda v: v.size_bytes or 0,
                    numeric=True,
                ),
                Column("Primary", lambda v: v.primary),
                Column("Failover", lambda v: ", ".join(v.failover) or "none"),
                Column("HA", lambda v: HA_STATUS_TEXT[v.ha_status]),
            ],
            key=lambda v: v.id,
            parent=self,
        )
        self.proxy = _UnchosenVolumes(self.model, self)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        # Sorted by name, ascending, the header saying so (Qt's default arrow is descending).
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(
            QAbstractItemView.SelectionMode.MultiSelection
            if multiple
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(140)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.picked = QLabel("Nothing chosen.")
        self.picked.setWordWrap(True)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.picked)
        layout.addWidget(self.error)
        self._chosen: tuple[VolumeChoice, ...] = ()

    @property
    def chosen(self) -> tuple[VolumeChoice, ...]:
        return self._chosen

    def set_volumes(self, volumes: tuple[VolumeChoice, ...]) -> None:
        """New usable volumes; picks that are still usable stay picked."""
        keep = {volume.id for volume in self._chosen}
        self.model.set_rows(volumes)
        selection = self.table.selectionModel()
        for row, volume in enumerate(self.model.rows):
            if volume.id in keep:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                if index.isValid() and not selection.isRowSelected(index.row()):
                    self.table.selectRow(index.row())
        self._selection_changed()

    def choose(self, volume_id: int) -> None:
        """Pick the volume with this id (as a click on its row would)."""
        row = self.model.row_of(volume_id)
        if row is None:
            raise KeyError(volume_id)
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            raise KeyError(volume_id)
        if not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())

    def hide_ids(self, ids: frozenset[int]) -> None:
        self.proxy.hide_ids(ids)

    def show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        chosen = tuple(
            sorted(
                (self.model.record(self.proxy.mapToSource(index).row()) for index in rows),
                key=lambda v: (v.name, v.id),
            )
        )
        if chosen == self._chosen:
            return
        self._chosen = chosen
        self.picked.setText(
            "; ".join(volume.summary for volume in chosen) if chosen else "Nothing chosen."
        )
        self.show_error(None)
        self.chosen_changed.emit()


class CreateFilesystemDialog(QDialog):
    command_started = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.choices: FilesystemChoices | None = None
        self.plan_dialog: PlanDialog | None = None
        self._request: FilesystemRequest | None = None
        self._busy = False
        self._volumes_text = "Reading the usable volumes …"
        self.setWindowTitle("New filesystem")
        self.resize(960, 860)

        # 1. Name
        self.name = QLineEdit()
        self.name.setMaxLength(32)  # longer than Lustre allows, so the rule is seen, not a wall
        self.name.setPlaceholderText("e.g. scratch (up to 8 letters, digits or _)")
        self.name_error = _error_label()
        name_box = QGroupBox("1. Name")
        name_layout = QVBoxLayout(name_box)
        name_layout.addWidget(self.name)
        name_layout.addWidget(self.name_error)

        # 2. Management target
        self.use_existing_mgs = QRadioButton("Use an existing MGS")
        self.new_mgt = QRadioButton("Create a new MGT on a volume")
        self.new_mgt.setChecked(True)
        self.use_existing_mgs.setEnabled(False)  # until the MGSs have been read
        group = QButtonGroup(self)
        group.addButton(self.use_existing_mgs)
        group.addButton(self.new_mgt)
        self.mgs = QComboBox()
        self.mgt_volume = VolumeChooser(multiple=False)
        self.mgt_error = _error_label()
        mgt_box = QGroupBox("2. Management target (MGT)")
        mgt_layout = QVBoxLayout(mgt_box)
        existing = QHBoxLayout()
        existing.addWidget(self.use_existing_mgs)
        existing.addWidget(self.mgs, 1)
        mgt_layout.addLayout(existing)
        mgt_layout.addWidget(self.new_mgt)
        mgt_layout.addWidget(self.mgt_volume)
        mgt_layout.addWidget(self.mgt_error)

        # 3. Metadata target and its inode options
        self.mdt_volume = VolumeChooser(multiple=False)
        self.inode_size = QComboBox()
        for size in VALID_INODE_SIZES:
            self.inode_size.addItem(str(size), size)
        self.inode_size.setCurrentIndex(VALID_INODE_SIZES.index(DEFAULT_INODE_SIZE))
        self.bytes_per_inode = QSpinBox()
        self.bytes_per_inode.setRange(128, 1 << 24)
        self.bytes_per_inode.setSingleStep(1024)
        self.bytes_per_inode.setValue(DEFAULT_BYTES_PER_INODE)
        self.file_limit = QLabel()
        self.inode_error = _error_label()
        advanced = QGroupBox("Advanced options")
        advanced.setCheckable(True)
        advanced.setChecked(False)
        form_holder = QWidget()
        form = QFormLayout(form_holder)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Inode size (bytes)", self.inode_size)
        form.addRow("Bytes per inode", self.bytes_per_inode)
        form.addRow("Estimated file limit", self.file_limit)
        form.addRow(self.inode_error)
        form_holder.setVisible(False)
        advanced.toggled.connect(form_holder.setVisible)
        QVBoxLayout(advanced).addWidget(form_holder)
        self.advanced = advanced
        mdt_box = QGroupBox("3. Metadata target (MDT)")
        mdt_layout = QVBoxLayout(mdt_box)
        mdt_layout.addWidget(self.mdt_volume)
        mdt_layout.addWidget(advanced)

        # 4. Object storage targets
        self.ost_volumes = VolumeChooser(multiple=True)
        self.capacity = QLabel()
        ost_box = QGroupBox("4. Object storage targets (OSTs): pick one or more")
        ost_layout = QVBoxLayout(ost_box)
        ost_layout.addWidget(self.ost_volumes)
        ost_layout.addWidget(self.capacity)

        # 5. The plan
        self.status = QLabel(self._volumes_text)
        self.status.setWordWrap(True)
        self.error = _error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.plan_button: QPushButton = self.buttons.addButton(
            "Show plan…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.plan_button.setDefault(True)
        self.plan_button.clicked.connect(self.show_plan)
        self.buttons.rejected.connect(self.reject)

        sections = QWidget()
        column = QVBoxLayout(sections)
        column.addWidget(name_box)
        column.addWidget(mgt_box)
        column.addWidget(mdt_box)
        column.addWidget(ost_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(sections)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.name.textChanged.connect(self._update)
        self.use_existing_mgs.toggled.connect(self._update)
        self.mgs.currentIndexChanged.connect(self._update)
        self.inode_size.currentIndexChanged.connect(self._update)
        self.bytes_per_inode.valueChanged.connect(self._update)
        self.advanced.toggled.connect(self._update)
        for chooser in self._choosers:
            chooser.chosen_changed.connect(self._update)
        context.bridge.subscribe(self, self._on_event)
        self._update()
        self.reload()

    @property
    def _choosers(self) -> tuple[VolumeChooser, ...]:
        return (self.mgt_volume, self.mdt_volume, self.ost_volumes)

    # --- reading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the usable volumes and MGSs again (on the database worker)."""
        self.context.query(
            filesystem_choices, self._show_choices, owner=self, on_error=self._failed
        )

    def _on_event(self, event: object) -> None:
        if changes_volumes(event) and not self._busy:
            self.reload()

    def _show_choices(self, choices: FilesystemChoices) -> None:
        self.choices = choices
        current = self.mgs.currentData()
        self.mgs.blockSignals(True)
        self.mgs.clear()
        for mgs in choices.mgss:
            self.mgs.addItem(mgs.summary, mgs.id)
        found = self.mgs.findData(current)
        self.mgs.setCurrentIndex(found if found >= 0 else 0)
        self.mgs.blockSignals(False)
        self.use_existing_mgs.setEnabled(bool(choices.mgss))
        if not choices.mgss and self.use_existing_mgs.isChecked():
            self.new_mgt.setChecked(True)
        for chooser in self._choosers:
            chooser.set_volumes(choices.volumes)
        self._volumes_text = (
            f"{len(choices.volumes)} usable volume{'s' if len(choices.volumes) != 1 else ''}."
            if choices.volumes
            else "No usable volumes: add servers and let them report their storage, or free a "
            "volume by removing its target."
        )
        if not self._busy:
            self.status.setText(self._volumes_text)
        self._update()

    # --- checking as the admin types ------------------------------------------------------------

    def inode_options(self) -> tuple[int, int]:
        return int(self.inode_size.currentData()), self.bytes_per_inode.value()

    def _update(self) -> None:
        chosen: dict[VolumeChooser, frozenset[int]] = {
            chooser: frozenset(v.id for v in chooser.chosen) for chooser in self._choosers
        }
        for chooser in self._choosers:
            others = frozenset().union(*(ids for c, ids in chosen.items() if c is not chooser))
            chooser.hide_ids(others)
        existing = self.use_existing_mgs.isChecked()
        self.mgs.setEnabled(existing)
        self.mgt_volume.setEnabled(not existing)
        if existing:
            self.mgt_volume.table.clearSelection()

        name_ok = self._check_name()
        inode_ok = self._check_inodes()
        mgt_ok = self.mgs.currentData() is not None if existing else bool(self.mgt_volume.chosen)
        osts = self.ost_volumes.chosen
        sizes = [v.size_bytes for v in osts]
        if not osts:
            self.capacity.setText("Estimated file system capacity: pick at least one OST.")
        else:
            total = None if None in sizes else sum(s for s in sizes if s is not None)
            self.capacity.setText(
                f"Estimated file system capacity: {format_bytes(total)} on {len(osts)} "
                f"OST{'s' if len(osts) != 1 else ''}"
            )
        self.mgt_error.hide()
        self.plan_button.setEnabled(
            not self._busy
            and name_ok
            and inode_ok
            and mgt_ok
            and bool(self.mdt_volume.chosen)
            and bool(osts)
        )

    def _check_name(self) -> bool:
        text = self.name.text()
        if not text:
            self.name_error.hide()
            return False
        try:
            validate_fsname(text)
        except ValidationError as error:
            self.name_error.setText(f"{error.rule}.")
            self.name_error.show()
            return False
        self.name_error.hide()
        return True

    def _check_inodes(self) -> bool:
        inode_size, bytes_per_inode = self.inode_options()
        mdt = self.mdt_volume.chosen
        size = mdt[0].size_bytes if mdt else None
        try:
            validate_inode_options(
                inode_size=inode_size,
                bytes_per_inode=bytes_per_inode,
                inode_count=None,
                volume_size=size,
            )
        except ValidationError as error:
            self.inode_error.setText(f"{error.field}: {error.rule}.")
            self.inode_error.show()
            self.file_limit.setText("—")
            return False
        self.inode_error.hide()
        self.file_limit.setText(
            "pick the MDT volume first" if size is None else f"{size // bytes_per_inode:,} files"
        )
        return True

    # --- the plan --------------------------------------------------------------------------------

    def request(self) -> FilesystemRequest:
        """What the admin asked for, as the scheduler takes it."""
        existing = self.use_existing_mgs.isChecked()
        mgt = self.mgt_volume.chosen
        return FilesystemRequest(
            name=self.name.text(),
            mdt_volume_ids=tuple(v.id for v in self.mdt_volume.chosen),
            ost_volume_ids=tuple(v.id for v in self.ost_volumes.chosen),
            mgt_volume_id=None if existing or not mgt else mgt[0].id,
            mgs_id=int(self.mgs.currentData()) if existing else None,
            mdt_inode=self._mdt_inode(),
        )

    def _mdt_inode(self) -> InodeOptions:
        """The admin's inode options when they changed them; mkfs.lustre's defaults otherwise."""
        inode_size, bytes_per_inode = self.inode_options()
        if not self.advanced.isChecked() or _defaults(inode_size, bytes_per_inode):
            return InodeOptions()
        return InodeOptions(inode_size=inode_size, bytes_per_inode=bytes_per_inode)

    def show_plan(self) -> None:
        """Ask the scheduler for the plan of this request and show it."""
        if not self.plan_button.isEnabled():
            return
        request = self.request()
        self._set_busy(True, "Planning …")
        self.context.schedule(
            lambda scheduler: _preview(scheduler, request),
            lambda answer: self._show_plan(request, answer),
            owner=self,
            on_error=self._failed,
        )

    def _show_plan(self, request: FilesystemRequest, answer: PlanPreview | _Refused) -> None:
        if isinstance(answer, _Refused):
            self._set_busy(False, "")
            self._show_refusal(answer)
            return
        self._request = request
        self.plan_dialog = dialog = PlanDialog(answer, self)
        dialog.finished.connect(lambda result: self._decided(dialog, result))
        dialog.open()

    def _decided(self, dialog: PlanDialog, result: int) -> None:
        dialog.deleteLater()
        self.plan_dialog = None
        request = self._request
        if result != QDialog.DialogCode.Accepted or request is None:
            self._set_busy(False, "")
            return
        actor = self.context.actor
        self._set_busy(True, f"Starting the creation of {request.name} …")
        self.context.schedule(
            lambda scheduler: _create(scheduler, request, actor),
            self._started,
            owner=self,
            on_error=self._failed,
        )

    def _started(self, command_id: int) -> None:
        self.command_started.emit(command_id)
        self.context.bridge.command_started.emit(command_id)
        self.accept()

    # --- errors ---------------------------------------------------------------------------------

    def _show_refusal(self, refused: _Refused) -> None:
        field = (refused.field or "").casefold()
        if field.startswith("filesystem name"):
            self.name_error.setText(refused.message)
            self.name_error.show()
        elif field.startswith(("mgt", "mgs")):
            self.mgt_error.setText(refused.message)
            self.mgt_error.show()
        elif field.startswith("mdt"):
            self.mdt_volume.show_error(refused.message)
        elif field.startswith("ost"):
            self.ost_volumes.show_error(refused.message)
        elif field.startswith(("inode", "bytes per inode")):
            self.inode_error.setText(refused.message)
            self.inode_error.show()
        else:
            self.error.setText(refused.message)
            self.error.show()

    def _failed(self, failure: Failure) -> None:
        self._set_busy(False, "")
        self.error.setText(str(failure))
        self.error.show()

    def _set_busy(self, busy: bool, text: str) -> None:
        self._busy = busy
        if busy:
            self.error.hide()
        self.status.setText(text or self._volumes_text)
        self._update()


def _defaults(inode_size: int, bytes_per_inode: int) -> bool:
    return (inode_size, bytes_per_inode) == (DEFAULT_INODE_SIZE, DEFAULT_BYTES_PER_INODE)


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label
