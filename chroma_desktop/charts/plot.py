"""A time-series plot: lines over a date axis, each with its min/max band when it has one; zoom
and pan with the mouse; live (the range follows the newest data) or history (the range stays
where the admin put it, and the data for it is asked for again at the plot's resolution).

Layer: chroma_desktop. Thread: the GUI thread. Drawing stays cheap however long the series:
pyqtgraph downsamples by peaks (spikes survive) to the pixels shown and clips to the view. The
data itself comes from `chroma_desktop.history` off the GUI thread; the plot only shows it.
No OpenGL (not available offscreen, and not needed at these sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from chroma_desktop.history import Series

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
RANGE_SETTLE_MS = 300
"""After the admin zooms or pans, how long the range must stay put before data is asked for."""


@dataclass(frozen=True)
class TimeWindow:
    label: str
    seconds: int

    @property
    def refresh_ms(self) -> int:
        """How often a live chart of this window asks again: window/60, at least 5 s (IML)."""
        return max(5_000, self.seconds * 1000 // 60)


WINDOWS = (
    TimeWindow("5 minutes", 300),
    TimeWindow("1 hour", 3600),
    TimeWindow("1 day", 86_400),
    TimeWindow("1 week", 7 * 86_400),
)


@dataclass
class _Line:
    curve: pg.PlotDataItem
    low: pg.PlotDataItem
    high: pg.PlotDataItem
    band: pg.FillBetweenItem
    points: int = 0


class TimeSeriesPlot(QWidget):
    """One chart: `set_series(name, series)` draws a line (and its band); `show_range` moves the
    view. `range_wanted(start, end)` asks for data after the admin zoomed or panned; that also
    leaves live mode (`live_changed(False)`)."""

    range_wanted = Signal(int, int)
    live_changed = Signal(bool)

    def __init__(self, title: str, unit: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self._live = True
        self._lines: dict[str, _Line] = {}
        self.widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.widget.setBackground("w")
        self.item = self.widget.getPlotItem()
        self.item.setTitle(title)
        self.item.showGrid(x=True, y=True, alpha=0.2)
        self.item.setLabel("left", units=unit or None)
        self.item.setDownsampling(auto=True, mode="peak")
        self.item.setClipToView(True)
        self.item.addLegend(offset=(10, 10))
        view = self.item.getViewBox()
        view.setMouseEnabled(x=True, y=False)  # time is what one zooms; values autoscale
        view.enableAutoRange(axis="y", enable=True)
        view.setAutoVisible(y=True)
        view.sigRangeChangedManually.connect(self._moved_by_hand)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(RANGE_SETTLE_MS)
        self._settle.timeout.connect(self._ask_for_range)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.setMinimumHeight(180)

    # --- what views call ------------------------------------------------------------------------

    def show_measure(self, title: str, unit: str) -> None:
        """Chart another measure in this same plot: its lines go, the title and unit change,
        and it follows the newest data again. Screens reuse their plots rather than delete
        them: deleting a pyqtgraph view with a paint queued for it can crash the process."""
        self._settle.stop()
        legend = self.item.legend
        for name, line in self._lines.items():
            for item in (line.curve, line.low, line.high, line.band):
                self.item.removeItem(item)
            if legend is not None:
                legend.removeItem(name)
        self._lines.clear()
        self.title = title
        self._problem = None
        self.item.setLabel("left", units=unit or None)
        self.item.getViewBox().enableAutoRange(axis="y", enable=True)
        self.set_live(True)
        self._show_state()

    @property
    def live(self) -> bool:
        return self._live

    def set_live(self, live: bool) -> None:
        if live != self._live:
            self._live = live
            self.live_changed.emit(live)

    def set_series(self, name: str, series: Series) -> None:
        line = self._lines.get(name) or self._add_line(name)
        finite = np.isfinite(series.avg)
        line.points = int(np.count_nonzero(finite))
        x = series.ts.astype(np.float64)
        line.curve.setData(x, series.avg, connect="finite")
        if series.low is not None and series.high is not None and line.points:
            line.low.setData(x, series.low, connect="finite")
            line.high.setData(x, series.high, connect="finite")
            line.band.setVisible(True)
        else:
            line.low.setData([], [])
            line.high.setData([], [])
            line.band.setVisible(False)
        self._show_state()

    def set_problem(self, text: str | None) -> None:
        """Say why the chart is empty (a store that cannot be read), or clear that."""
        self._problem = text
        self._show_state()

    def show_range(self, start: float, end: float) -> None:
        self.item.getViewBox().setXRange(start, end, padding=0)

    def visible_range(self) -> tuple[int, int]:
        (x0, x1), _ = self.item.getViewBox().viewRange()
        return int(x0), int(x1) + 1

    def pixel_width(self) -> int:
        """How many buckets are worth asking for: one per pixel of the plotting area."""
        return max(50, int(self.item.getViewBox().width()) or self.width())

    def point_count(self, name: str | None = None) -> int:
        """Buckets with data shown (of one line, or of all): what a test or a readout needs."""
        if name is not None:
            line = self._lines.get(name)
            return line.points if line is not None else 0
        return sum(line.points for line in self._lines.values())

    # --- inside ---------------------------------------------------------------------------------

    _problem: str | None = None

    def _add_line(self, name: str) -> _Line:
        colour = PALETTE[len(self._lines) % len(PALETTE)]
        curve = self.item.plot([], [], pen=pg.mkPen(colour, width=1.5), name=name)
        low = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        high = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        band_colour = pg.mkColor(colour)
        band_colour.setAlpha(50)
        band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(band_colour))
        for item in (low, high, band):
            self.item.addItem(item)
        band.setVisible(False)
        line = self._lines[name] = _Line(curve, low, high, band)
        return line

    def _show_state(self) -> None:
        if self._problem:
            self.item.setTitle(f"{self.title} — {self._problem}")
        elif not self.point_count():
            self.item.setTitle(f"{self.title} — no data yet")
        else:
            self.item.setTitle(self.title)

    def _moved_by_hand(self, _axes: object) -> None:
        self.set_live(False)
        self._settle.start()

    def _ask_for_range(self) -> None:
        start, end = self.visible_range()
        self.range_wanted.emit(start, end)
