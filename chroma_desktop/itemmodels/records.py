"""A sortable, filterable table of frozen records: columns declared once, rows replaced whole.

Layer: chroma_desktop. Thread: the GUI thread. A view declares its `Column`s (title, the text of
a cell, an optional sort key, tooltip and colour) and hands the model new rows whenever its data
changes; rows keep their place and selection when their keys are unchanged, so a live table does
not jump under the admin's cursor. Filtering matches every word typed against a row's text,
computed once per row update, so 10,000 rows filter in one pass of Python per row rather than one
call per cell. A view paints a cell by asking for all its roles at once (`multiData`, forwarded
by the filter proxy too): one call into Python per cell painted instead of seven.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QTableView

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex

SORT_ROLE = int(Qt.ItemDataRole.UserRole)
RECORD_ROLE = SORT_ROLE + 1
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ANSWERED_ROLES = frozenset((_DISPLAY, _FOREGROUND, _ALIGNMENT, _TOOLTIP, SORT_ROLE, RECORD_ROLE))
_RIGHT_ALIGNED = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class Column(Generic[R]):
    title: str
    text: Callable[[R], object]
    sort_key: Callable[[R], Any] | None = None
    """What the column sorts by (numbers sort as numbers); the text when not given."""
    tooltip: Callable[[R], str | None] | None = None
    colour: Callable[[R], str | None] | None = None
    """A colour name for the cell's text (e.g. "#c0392b" for a failed state), or None."""
    numeric: bool = False
    """Right-aligned, as numbers are in every spreadsheet."""
    header_tip: str | None = None
    live: bool = False
    """Shows figures kept beside the records (live stats), not the record itself: left out of
    the filter text, and repainted by `live_values_changed`."""


class RecordTableModel(QAbstractTableModel, Generic[R]):
    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._rows: list[R] = []
        self._keys: list[Hashable] = []
        self.search_texts: list[str] = []
        self._brushes: dict[str, QBrush] = {}
        self._sorting: tuple[int, Qt.SortOrder] | None = None

    # --- what views call ------------------------------------------------------------------------

    @property
    def rows(self) -> list[R]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[R]) -> None:
        """Replace the rows (kept in the column order the admin chose). When the keys are the
        same rows in the same order, only changed rows are repainted; otherwise the table is
        reset."""
        rows = self._sorted(list(rows))
        keys = [self._key(row) for row in rows]
        texts = [self._search_text(row) for row in rows]
        if keys == self._keys:
            changed = [
                i for i, (old, new) in enumerate(zip(self._rows, rows, strict=True)) if old != new
            ]
            self._rows, self.search_texts = rows, texts
            if changed:  # one signal for the span: thousands of rows change in a big command
                last = len(self.columns) - 1
                self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], last))
            return
        self.beginResetModel()
        self._rows, self._keys, self.search_texts = rows, keys, texts
        self.endResetModel()

    def live_values_changed(self) -> None:
        """The figures the live columns show changed: repaint those columns, and sort again
        when the table is sorted by one of them."""
        live = [i for i, column in enumerate(self.columns) if column.live]
        if not live or not self._rows:
            return
        if self._sorting is not None and self._sorting[0] in live:
            self.sort(*self._sorting)
            return
        last = len(self._rows) - 1
        self.dataChanged.emit(self.index(0, live[0]), self.index(last, live[-1]))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column's key, in Python, once per key: a Qt sort through `lessThan` asks
        for two cells per comparison and takes seconds on 10,000 rows."""
        if not 0 <= column < len(self.columns):
            self._sorting = None  # Qt's "no sort column": rows keep the order they come in
            return
        self._sorting = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self._keys
        positions = self._order(self._rows)
        self._rows = [self._rows[i] for i in positions]
        self._keys = [before[i] for i in positions]
        self.search_texts = [self.search_texts[i] for i in positions]
        moved = {old: new for new, old in enumerate(positions)}
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent,
            [self.index(moved[i.row()], i.column()) if i.isValid() else i for i in persistent],
        )
        self.layoutChanged.emit()

    def _sorted(self, rows: list[R]) -> list[R]:
        return rows if self._sorting is None else [rows[i] for i in self._order(rows)]

    def _order(self, rows: list[R]) -> list[int]:
        assert self._sorting is not None
        column, order = self._sorting
        spec = self.columns[column]
        key: Callable[[R], Any] = spec.sort_key or (lambda row: _display(spec.text(row)))
        values = [key(row) for row in rows]
        descending = order == Qt.SortOrder.DescendingOrder
        try:  # blanks first (last when descending), whatever the values' kind
            return sorted(
                range(len(rows)),
                key=lambda i: (values[i] is not None, values[i] if values[i] is not None else 0),
                reverse=descending,
            )
        except TypeError:  # values of different kinds in one column: compare their text
            return sorted(range(len(rows)), key=lambda i: str(values[i]), reverse=descending)

    def record(self, row: int) -> R:
        return self._rows[row]

    def row_of(self, key: Hashable) -> int | None:
        try:
            return self._keys.index(key)
        except ValueError:
            return None

    # --- QAbstractTableModel ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role not in _ANSWERED_ROLES:
            return None
        at = index.row()
        return None if at < 0 else self._value(self._rows[at], self.columns[index.column()], role)

    def multiData(self, index: Index, roles: QModelRoleDataSpan | QModelRoleData) -> None:
        self.fill_roles(index.row(), index.column(), roles)

    def fill_roles(
        self, at: int, column_at: int, roles: QModelRoleDataSpan | QModelRoleData
    ) -> None:
        """Every role of one cell in one call: how a view paints a cell (Qt asks for seven roles
        at once), instead of seven calls into Python. Roles no column answers are left empty,
        as the view hands them in."""
        if at < 0:
            return
        row, column = self._rows[at], self.columns[column_at]
        # PySide's span is a sequence at run time, though its stubs do not say so.
        each = (
            (roles,) if isinstance(roles, QModelRoleData) else cast(Iterable[QModelRoleData], roles)
        )
        for wanted in each:
            role = wanted.role()
            if role in _ANSWERED_ROLES:
                wanted.setData(self._value(row, column, role))

    def _value(self, row: R, column: Column[R], role: int) -> Any:
        if role == _DISPLAY:
            return _display(column.text(row))
        if role == _FOREGROUND:
            if column.colour is None:
                return None
            name = column.colour(row)
            return None if name is None else self._brush(name)
        if role == _ALIGNMENT:
            return _RIGHT_ALIGNED if column.numeric else None
        if role == _TOOLTIP:
            return None if column.tooltip is None else column.tooltip(row)
        if role == SORT_ROLE:
            return (
                column.sort_key(row) if column.sort_key is not None else _display(column.text(row))
            )
        return row  # RECORD_ROLE

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].header_tip
        return None

    # --- inside ---------------------------------------------------------------------------------

    def _search_text(self, row: R) -> str:
        return "\t".join(
            _display(column.text(row)) for column in self.columns if not column.live
        ).casefold()

    def _brush(self, name: str) -> QBrush:
        brush = self._brushes.get(name)
        if brush is None:
            brush = self._brushes[name] = QBrush(QColor(name))
        return brush


def _display(value: object) -> str:
    return "" if value is None else str(value)


class RecordFilterProxy(QSortFilterProxyModel):
    """Keeps the rows whose text holds every word typed; sorting is the source model's."""

    def __init__(self, source: RecordTableModel[Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self._source = source
        self._words: list[str] = []
        self._matches: list[bool] = []
        self._matched_texts: list[str] | None = None
        """The texts `_matches` was computed from: a model's update replaces its list."""

    def set_filter_text(self, text: str) -> None:
        words = text.casefold().split()
        if words != self._words:
            self.beginFilterChange()
            self._words = words
            self._matched_texts = None
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def multiData(self, index: Index, roles: QModelRoleDataSpan | QModelRoleData) -> None:
        # Qt's proxy would ask the source one role at a time: hand the whole cell over at once.
        source = self.mapToSource(index)
        self._source.fill_roles(source.row(), source.column(), roles)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        texts = self._source.search_texts
        if texts is not self._matched_texts:  # new rows, or new words: one pass a word
            first, *others = self._words
            matches = [first in text for text in texts]
            for word in others:
                matches = [
                    found and word in text for found, text in zip(matches, texts, strict=True)
                ]
            self._matches = matches
            self._matched_texts = texts
        return self._matches[source_row]

    def selected(self, table: QAbstractItemView) -> Any | None:
        """The record of the row selected in `table` (which shows this proxy), or None."""
        rows = table.selectionModel().selectedRows()
        return self._source.record(self.mapToSource(rows[0]).row()) if rows else None

    def select_first(self, table: QTableView, wanted: Callable[[Any], bool]) -> bool:
        """Select the first row shown whose record is `wanted`; False when none is."""
        for row in range(self.rowCount()):
            if wanted(self._source.record(self.mapToSource(self.index(row, 0)).row())):
                table.selectRow(row)
                return True
        return False

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The table's rows are sorted by the source model (see `RecordTableModel.sort`); the
        proxy only filters."""
        self._source.sort(column, order)
