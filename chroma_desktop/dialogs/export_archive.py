"""File → Export history…: the time range and the file an offline archive is written to.

Layer: chroma_desktop. Thread: the GUI thread; the export itself runs on its own thread (see
`History.export_archive`) once the admin accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from stats.archive import SUFFIX

HOUR = 3600
RANGES = (("Last hour", HOUR), ("Last day", 24 * HOUR), ("Last week", 7 * 24 * HOUR))


@dataclass(frozen=True)
class ExportChoice:
    path: Path
    start: float
    end: float


class ExportArchiveDialog(QDialog):
    """Choose a range (a preset or from/to) and a file; `choice()` once accepted."""

    def __init__(self, now: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("export_archive")
        self.setWindowTitle("Export history")
        self._now = now
        self.preset_box = QComboBox()
        for label, seconds in RANGES:
            self.preset_box.addItem(label, seconds)
        self.preset_box.addItem("Chosen below", None)
        self.preset_box.setCurrentIndex(1)
        self.preset_box.currentIndexChanged.connect(self._preset_chosen)
        self.from_edit = QDateTimeEdit()
        self.to_edit = QDateTimeEdit()
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.dateTimeChanged.connect(self._edited)
        self.path_edit = QLineEdit(str(Path.home() / f"chroma-history{SUFFIX}"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #611a15;")
        self.problem.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Everything of the range goes into one file: statistics, logs, events, alerts, "
                "commands with their output, and the servers and filesystems as they are."
            )
        )
        form.addRow("Range:", self.preset_box)
        form.addRow("From:", self.from_edit)
        form.addRow("To:", self.to_edit)
        form.addRow("File:", path_row)
        form.addRow(self.problem)
        form.addRow(self.buttons)
        self._preset_chosen()

    def set_range(self, start: float, end: float) -> None:
        self.from_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(start)))
        self.to_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(end)))

    def choice(self) -> ExportChoice:
        return ExportChoice(
            Path(self.path_edit.text()).expanduser(),
            float(self.from_edit.dateTime().toSecsSinceEpoch()),
            float(self.to_edit.dateTime().toSecsSinceEpoch()),
        )

    def _preset_chosen(self) -> None:
        seconds = self.preset_box.currentData()
        if seconds is not None:
            self.set_range(self._now - seconds, self._now)
            self.preset_box.setCurrentIndex(self.preset_box.findData(seconds))

    def _edited(self) -> None:
        seconds = self.preset_box.currentData()
        choice = self.choice()
        if seconds is not None and (choice.end - choice.start) != seconds:
            self.preset_box.blockSignals(True)
            self.preset_box.setCurrentIndex(self.preset_box.count() - 1)
            self.preset_box.blockSignals(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export history to", self.path_edit.text(), f"Archives (*{SUFFIX})"
        )
        if path:
            self.path_edit.setText(path if path.endswith(SUFFIX) else path + SUFFIX)

    def _accept_if_valid(self) -> None:
        choice = self.choice()
        problem = None
        if choice.end <= choice.start:
            problem = "The range must end after it starts."
        elif not self.path_edit.text().strip():
            problem = "Choose a file to export to."
        elif choice.path.is_dir():
            problem = f"{choice.path} is a folder: choose a file name."
        if problem is not None:
            self.problem.setText(problem)
            self.problem.show()
            return
        self.accept()
