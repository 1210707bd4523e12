"""A table of syslog lines, newest first: replaced whole by a search, grown at the top by the
live tail, and bounded so a day of tailing never grows without limit.

Layer: chroma_desktop. Thread: the GUI thread. Rows are the log store's frozen `LogLine`s; new
lines are inserted (`beginInsertRows`), never by resetting the model, so the admin's selection
and scroll position survive a busy tail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from core.observations import SyslogSeverity
from stats.logs import LogLine

Index = QModelIndex | QPersistentModelIndex
MAX_ROWS = 20_000
ERROR_COLOUR, WARNING_COLOUR = "#b02a1a", "#8a5a00"
LINE_ROLE = Qt.ItemDataRole.UserRole + 1


def _time(line: LogLine) -> str:
    return datetime.fromtimestamp(line.t).strftime("%Y-%m-%d %H:%M:%S")


COLUMNS: tuple[tuple[str, Callable[[LogLine], str]], ...] = (
    ("Time", _time),
    ("Server", lambda line: line.host),
    ("Severity", lambda line: line.severity.label),
    ("Source", lambda line: line.source),
    ("Message", lambda line: line.message),
)


class LogLinesModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None, *, max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self._lines: list[LogLine] = []
        self._host_names: dict[str, str] = {}
        self._error = QBrush(QColor(ERROR_COLOUR))
        self._warning = QBrush(QColor(WARNING_COLOUR))

    @property
    def lines(self) -> list[LogLine]:
        return list(self._lines)

    def set_host_names(self, names: dict[str, str]) -> None:
        """Show servers by name ("sim-mds1") rather than by address where the name is known."""
        self._host_names = dict(names)
        if self._lines:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._lines) - 1, 1))

    def set_lines(self, lines: Sequence[LogLine]) -> None:
        """Replace the rows (newest first)."""
        self.beginResetModel()
        self._lines = list(lines[: self.max_rows])
        self.endResetModel()

    def prepend(self, newest_first: Sequence[LogLine]) -> None:
        """Put newer lines (newest first) on top, dropping the oldest past `max_rows`."""
        new = list(newest_first[: self.max_rows])
        if not new:
            return
        self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
        self._lines[:0] = new
        self.endInsertRows()
        extra = len(self._lines) - self.max_rows
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), self.max_rows, len(self._lines) - 1)
            del self._lines[self.max_rows :]
            self.endRemoveRows()

    def line(self, row: int) -> LogLine:
        return self._lines[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self._lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 1:
                return self._host_names.get(line.host, line.host)
            return COLUMNS[index.column()][1](line)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in (1, 4):
            return line.host if index.column() == 1 else line.message
        if role == Qt.ItemDataRole.ForegroundRole:
            if line.severity.error_or_worse:
                return self._error
            if line.severity == SyslogSeverity.WARNING:
                return self._warning
        if role == LINE_ROLE:
            return line
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section][0]
        return None
