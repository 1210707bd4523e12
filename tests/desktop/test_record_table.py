"""The record table under the admin's hands: sorting by a column's key, blanks first, a
selected row staying selected through sorts and live updates, and filtering by every word."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt

from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    size: int | None


def table(qapp: Any) -> tuple[RecordTableModel[Row], RecordFilterProxy]:
    model: RecordTableModel[Row] = RecordTableModel(
        [
            Column("Name", lambda r: r.name),
            Column("Size", lambda r: r.size, sort_key=lambda r: r.size),
        ],
        key=lambda r: r.id,
    )
    return model, RecordFilterProxy(model)


def names(proxy: RecordFilterProxy) -> list[str]:
    return [str(proxy.index(i, 0).data()) for i in range(proxy.rowCount())]


def test_sorting_is_by_value_with_blanks_first_and_kept_for_new_rows(qapp: Any) -> None:
    model, proxy = table(qapp)
    model.set_rows([Row(1, "ost10", 10), Row(2, "ost2", 2), Row(3, "new", None)])
    proxy.sort(1, Qt.SortOrder.AscendingOrder)
    assert names(proxy) == ["new", "ost2", "ost10"]  # 2 < 10 as numbers, unknown size first
    proxy.sort(0, Qt.SortOrder.DescendingOrder)
    assert names(proxy) == ["ost2", "ost10", "new"]
    model.set_rows([Row(4, "ost3", 3), *model.rows])  # a live update keeps the chosen order
    assert names(proxy) == ["ost3", "ost2", "ost10", "new"]
    proxy.sort(-1)  # Qt's "unsorted": rows come as given again
    model.set_rows([Row(1, "ost10", 10), Row(4, "ost3", 3)])
    assert names(proxy) == ["ost10", "ost3"]


def test_the_selected_row_stays_selected_when_the_table_is_sorted(qapp: Any) -> None:
    model, proxy = table(qapp)
    model.set_rows([Row(i, f"target{i:02}", 100 - i) for i in range(20)])
    selection = QItemSelectionModel(proxy)
    chosen = proxy.index(3, 0)
    selection.select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    proxy.sort(1, Qt.SortOrder.AscendingOrder)
    (selected,) = selection.selectedIndexes()
    assert selected.data() == "target03"
    assert selected.row() == 16  # size 97 is the fourth largest of 81..100


def test_filtering_keeps_rows_holding_every_word_in_any_column(qapp: Any) -> None:
    model, proxy = table(qapp)
    model.set_rows([Row(1, "fs1-OST0000", 5), Row(2, "fs1-MDT0000", 7), Row(3, "fs2-OST0000", 5)])
    proxy.set_filter_text("ost FS1")
    assert names(proxy) == ["fs1-OST0000"]
    proxy.set_filter_text("5")
    assert names(proxy) == ["fs1-OST0000", "fs2-OST0000"]
    proxy.set_filter_text("")
    assert proxy.rowCount() == 3


def test_a_painted_table_shows_each_cells_colour_and_numbers_on_the_right(
    qtbot: Any, qt_leak_check: None
) -> None:
    # What the screen draws (the view asks the proxy for whole cells at once), not data().
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QTableView

    model: RecordTableModel[Row] = RecordTableModel(
        [
            Column("Name", lambda r: r.name, colour=lambda r: "#ff0000" if r.id == 2 else None),
            Column("Size", lambda r: "8888888", numeric=True),
        ],
        key=lambda r: r.id,
    )
    proxy = RecordFilterProxy(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setColumnWidth(0, 200)
    view.setColumnWidth(1, 400)
    view.resize(700, 200)
    model.set_rows([Row(1, "WWWWWWWW", 1), Row(2, "WWWWWWWW", 2)])
    view.show()
    qtbot.waitExposed(view)
    image = view.viewport().grab().toImage()

    def inked(left: int, right: int, row: int) -> list[int]:
        """The x of every dark or red pixel in that stretch of `row`'s cells."""
        top = view.rowViewportPosition(row)
        xs = []
        for y in range(top, top + view.rowHeight(row)):
            for x in range(left, right):
                colour = QColor(image.pixel(x, y))
                if colour.red() > 150 > colour.green() or colour.lightness() < 100:
                    xs.append(x)
        return xs

    def red(row: int) -> bool:
        top = view.rowViewportPosition(row)
        return any(
            QColor(image.pixel(x, y)).red() > 150 > QColor(image.pixel(x, y)).green()
            for y in range(top, top + view.rowHeight(row))
            for x in range(0, 200)
        )

    assert red(1) and not red(0)  # the failed row's name is drawn in its colour
    size = inked(200, 600, 0)
    assert size and min(size) > 400  # numbers hug the right edge of their 400-pixel column
    view.close()
