"""The OST balance heat map: one cell per OST, coloured from green (empty) through amber to red
(full), so an OST filling faster than its peers stands out among hundreds; hover a cell for its
name and fill, and the line above says the mean, the emptiest, the fullest and the spread.

Layer: chroma_desktop. Thread: the GUI thread. It paints what `History.ost_fill` read on the
history thread; thousands of cells are one paint pass of filled rectangles.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Final

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QToolTip, QVBoxLayout, QWidget

from chroma_desktop.history import OstFill

CELL_PX: Final = 18
GAP_PX: Final = 2
UNKNOWN: Final = QColor("#c8c8c8")
_STOPS: Final = ((0.0, QColor("#2e7d32")), (0.6, QColor("#f9a825")), (1.0, QColor("#c62828")))


def fill_colour(used: float) -> QColor:
    """Green at empty, amber at 60 % used, red at full; grey when unknown."""
    if math.isnan(used):
        return UNKNOWN
    used = min(max(used, 0.0), 1.0)
    for (low, start), (high, end) in pairwise(_STOPS):
        if used <= high:
            f = (used - low) / (high - low)
            return QColor.fromRgbF(
                start.redF() + f * (end.redF() - start.redF()),
                start.greenF() + f * (end.greenF() - start.greenF()),
                start.blueF() + f * (end.blueF() - start.blueF()),
            )
    return _STOPS[-1][1]


def _percent(value: float) -> str:
    return "unknown" if math.isnan(value) else f"{100 * value:.0f} %"


class _Cells(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.fill: OstFill | None = None
        self.setMinimumHeight(CELL_PX + 2 * GAP_PX)

    def columns(self) -> int:
        return max(1, (self.width() - GAP_PX) // (CELL_PX + GAP_PX))

    def cell_at(self, x: float, y: float) -> int | None:
        if self.fill is None:
            return None
        column, row = int(x - GAP_PX) // (CELL_PX + GAP_PX), int(y - GAP_PX) // (CELL_PX + GAP_PX)
        index = row * self.columns() + column
        inside = 0 <= column < self.columns() and row >= 0
        return index if inside and index < len(self.fill.names) else None

    def sizeHint(self) -> QSize:
        count = len(self.fill.names) if self.fill is not None else 0
        rows = max(1, -(-count // self.columns()))
        return QSize(400, GAP_PX + rows * (CELL_PX + GAP_PX))

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.fill is None:
            return
        painter = QPainter(self)
        columns = self.columns()
        for index, used in enumerate(self.fill.balance.used.tolist()):
            row, column = divmod(index, columns)
            painter.fillRect(
                QRectF(
                    GAP_PX + column * (CELL_PX + GAP_PX),
                    GAP_PX + row * (CELL_PX + GAP_PX),
                    CELL_PX,
                    CELL_PX,
                ),
                fill_colour(used),
            )
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.cell_at(event.pos().x(), event.pos().y())
            if index is None or self.fill is None:
                QToolTip.hideText()
            else:
                used = float(self.fill.balance.used[index])
                QToolTip.showText(
                    event.globalPos(), f"{self.fill.names[index]}: {_percent(used)} used", self
                )
            return True
        return super().event(event)

    def resizeEvent(self, event: object) -> None:
        self.updateGeometry()


class OstBalanceMap(QWidget):
    """The heat map and its summary line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("OST balance: no OST has reported its space yet.")
        self.cells = _Cells()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.cells)

    def show_fill(self, fill: OstFill) -> None:
        self.cells.fill = fill
        balance = fill.balance
        if not fill.names or math.isnan(balance.mean):
            self.summary.setText("OST balance: no OST has reported its space yet.")
        else:
            fullest = fill.names[int(np.nanargmax(balance.used))]
            self.summary.setText(
                f"OST balance of {len(fill.names)} OSTs: {_percent(balance.mean)} used on "
                f"average, {_percent(balance.min)} to {_percent(balance.max)} "
                f"(spread {100 * balance.spread:.0f} points); fullest {fullest}."
            )
        self.cells.updateGeometry()
        self.cells.update()
