"""The table and filter box every list screen uses over a `RecordFilterProxy`.

Layer: chroma_desktop. Thread: the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTableView

from chroma_desktop.itemmodels.records import RecordFilterProxy


def record_table(
    proxy: RecordFilterProxy,
    *,
    single: bool = True,
    sort_by: int = 0,
    order: Qt.SortOrder = Qt.SortOrder.AscendingOrder,
) -> QTableView:
    """A sortable table showing `proxy`, selecting whole rows (one at a time when `single`),
    with no row numbers and its last column stretched. It starts sorted by column `sort_by`
    in `order` (by default the first column, ascending), the header's arrow saying so:
    Qt's own default would be descending on the first column."""
    table = QTableView()
    table.setModel(proxy)
    # Enabling sorting sorts by the header's indicator: set it first, so the rows and the
    # arrow agree from the start.
    table.horizontalHeader().setSortIndicator(sort_by, order)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


def filter_box(proxy: RecordFilterProxy, placeholder: str) -> QLineEdit:
    """A text box whose words filter `proxy` as they are typed."""
    box = QLineEdit()
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)
    box.textChanged.connect(proxy.set_filter_text)
    return box
