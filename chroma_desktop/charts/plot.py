"""A time-series plot: lines over a date axis, each with its min/max band when it has one; zoom
and pan with the mouse; live (the range follows the newest data) or history (the range stays
where the admin put it, and the data for it is asked for again at the plot's resolution).

Layer: chroma_desktop. Thread: the GUI thread. Drawing stays cheap however long the series,
so panning a million points keeps well above 30 frames a second: pyqtgraph downsamples each
line by peaks (spikes survive) to the pixels shown and clips it to the view; each band is
rebuilt from the visible stretch, one bucket per pixel, whenever the range moves; lines are
1-pixel cosmetic pens without antialiasing (wider pens take Qt's slow stroking path); and the
grid is opaque lines under the data, not pyqtgraph's translucent ones over it. Colours follow
the palette (light or dark). The data itself comes from `chroma_desktop.history` off the GUI
thread; the plot only shows it. No OpenGL (not available offscreen, and not needed here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainterPath, QPalette
from PySide6.QtWidgets import QGraphicsPathItem, QVBoxLayout, QWidget

from chroma_desktop.history import Series

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
RANGE_SETTLE_MS = 300
"""After the admin zooms or pans, how long the range must stay put before data is asked for."""
AXIS_INK: Final = 0.45
"""How far the axes and their text lie from the background towards the text colour."""
GRID_INK: Final = 0.09
"""Same, for the grid: faint, but opaque (translucent lines across the view cost each frame)."""
BAND_ALPHA: Final = 50


def _mix(background: QColor, ink: QColor, amount: float) -> QColor:
    """The opaque colour `amount` of the way from `background` to `ink`."""
    return QColor.fromRgbF(
        background.redF() + amount * (ink.redF() - background.redF()),
        background.greenF() + amount * (ink.greenF() - background.greenF()),
        background.blueF() + amount * (ink.blueF() - background.blueF()),
    )


def envelope(
    x: NDArray[np.float64],
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    start: float,
    end: float,
    buckets: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The band's edges over [start, end] (and one sample beyond each end, so it reaches the
    edges of the view) in at most `buckets` steps: the lowest low and the highest high of each
    step, so no spike is lost. A sample with no value on either edge is a gap (NaN in both)."""
    first = max(int(np.searchsorted(x, start, side="left")) - 1, 0)
    last = min(int(np.searchsorted(x, end, side="right")) + 1, len(x))
    x, low, high = x[first:last], low[first:last], high[first:last]
    gap = ~(np.isfinite(low) & np.isfinite(high))
    low, high = np.where(gap, np.nan, low), np.where(gap, np.nan, high)
    if len(x) <= 2 * buckets:
        return x, low, high
    starts = np.arange(0, len(x), -(-len(x) // buckets))
    ends = np.append(starts[1:], len(x)) - 1
    # each step spans its first to its last sample, so the band reaches the ends of the view
    steps = np.column_stack((x[starts], x[ends])).ravel()
    lowest, highest = np.fmin.reduceat(low, starts), np.fmax.reduceat(high, starts)
    return steps, np.repeat(lowest, 2), np.repeat(highest, 2)


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


def band_path(
    x: NDArray[np.float64], low: NDArray[np.float64], high: NDArray[np.float64]
) -> QPainterPath:
    """The band as one closed outline per stretch without gaps: along the high edge, back
    along the low one."""
    finite = np.isfinite(low) & np.isfinite(high)
    bounds = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
    xs, ys, joins = [], [], []
    for first, end in zip(bounds[::2], bounds[1::2], strict=True):
        xs += [x[first:end], x[first:end][::-1]]
        ys += [high[first:end], low[first:end][::-1]]
        join = np.ones(2 * (end - first), dtype=bool)
        join[-1] = False  # the next stretch is a new outline
        joins.append(join)
    if not xs:
        return QPainterPath()
    path: QPainterPath = pg.arrayToQPath(
        np.concatenate(xs), np.concatenate(ys), connect=np.concatenate(joins)
    )
    path.setFillRule(Qt.FillRule.WindingFill)
    return path


_NO_DATA = np.empty(0, dtype=np.float64)


@dataclass
class _Line:
    curve: pg.PlotDataItem
    band: QGraphicsPathItem
    """What is visible of the band, a bucket per pixel (`envelope`), rebuilt as the range
    moves."""
    points: int = 0
    x: NDArray[np.float64] = field(default_factory=lambda: _NO_DATA)
    low: NDArray[np.float64] | None = None
    high: NDArray[np.float64] | None = None


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
        self.item = self.widget.getPlotItem()
        self.item.setTitle(title)
        self.item.showGrid(x=True, y=True)
        for name in ("left", "bottom"):
            axis = self.item.getAxis(name)
            # Opaque grid lines (tick pen, set with the palette) for the major and minor ticks,
            # drawn under the data: the axes go behind the view box (z -100).
            axis.setStyle(tickAlpha=255, maxTickLevel=1)
            axis.setZValue(-101)
        self.item.setLabel("left", units=unit or None)
        self.item.setDownsampling(auto=True, mode="peak")
        self.item.setClipToView(True)
        self.item.addLegend(offset=(10, 10))
        view = self.item.getViewBox()
        view.setMouseEnabled(x=True, y=False)  # time is what one zooms; values autoscale
        view.enableAutoRange(axis="y", enable=True)
        view.setAutoVisible(y=True)
        view.sigRangeChangedManually.connect(self._moved_by_hand)
        view.sigXRangeChanged.connect(self._update_bands)
        view.sigResized.connect(self._update_bands)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(RANGE_SETTLE_MS)
        self._settle.timeout.connect(self._ask_for_range)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.setMinimumHeight(180)
        self._apply_palette()

    # --- what views call ------------------------------------------------------------------------

    def show_measure(self, title: str, unit: str) -> None:
        """Chart another measure in this same plot: its lines go, the title and unit change,
        and it follows the newest data again. Screens reuse their plots rather than delete
        them: deleting a pyqtgraph view with a paint queued for it can crash the process."""
        self._settle.stop()
        legend = self.item.legend
        for name, line in self._lines.items():
            for item in (line.curve, line.band):
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
        line.x = series.ts.astype(np.float64)
        line.curve.setData(line.x, series.avg, connect="finite")
        if series.low is not None and series.high is not None and line.points:
            line.low = np.asarray(series.low, dtype=np.float64)
            line.high = np.asarray(series.high, dtype=np.float64)
        else:
            line.low = line.high = None
        self._update_band(line)
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

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    # --- inside ---------------------------------------------------------------------------------

    _problem: str | None = None
    _ink: QColor = QColor("#999999")

    def _add_line(self, name: str) -> _Line:
        colour = PALETTE[len(self._lines) % len(PALETTE)]
        curve = self.item.plot(
            [],
            [],
            pen=pg.mkPen(colour, width=1),
            antialias=False,
            name=name,
            autoDownsampleFactor=1.0,
        )
        band_colour = pg.mkColor(colour)
        band_colour.setAlpha(BAND_ALPHA)
        band = QGraphicsPathItem()
        band.setPen(pg.mkPen(None))
        band.setBrush(pg.mkBrush(band_colour))
        band.setZValue(-1)  # under its line
        band.setVisible(False)
        self.item.addItem(band)
        line = self._lines[name] = _Line(curve, band)
        return line

    def _update_bands(self, *_args: object) -> None:
        for line in self._lines.values():
            self._update_band(line)

    def _update_band(self, line: _Line) -> None:
        """Redraw the band from its visible stretch, a bucket per pixel: drawing all of a long
        series' band each frame would cost seconds, where its envelope costs a millisecond."""
        if line.low is None or line.high is None:
            if line.band.isVisible():
                line.band.setVisible(False)
                line.band.setPath(QPainterPath())
            return
        (start, end), _ = self.item.getViewBox().viewRange()
        x, low, high = envelope(line.x, line.low, line.high, start, end, self.pixel_width())
        line.band.setPath(band_path(x, low, high))
        line.band.setVisible(True)

    def _apply_palette(self) -> None:
        """Background, axes, title, legend and grid from the palette: a faint opaque grid
        and mid-tone axes on the view's base colour, in light and dark themes alike."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        ink = palette.color(QPalette.ColorRole.Text)
        self._ink = _mix(background, ink, AXIS_INK)
        grid = _mix(background, ink, GRID_INK)
        self.widget.setBackground(background)
        for name in ("left", "bottom"):
            axis = self.item.getAxis(name)
            axis.setPen(self._ink)
            axis.setTextPen(self._ink)
            axis.setTickPen(pg.mkPen(grid, width=1))
        if self.item.legend is not None:
            self.item.legend.setLabelTextColor(self._ink)
        self.item.setTitle(self.item.titleLabel.text, color=self._ink)

    def _show_state(self) -> None:
        if self._problem:
            text = f"{self.title} — {self._problem}"
        elif not self.point_count():
            text = f"{self.title} — no data yet"
        else:
            text = self.title
        self.item.setTitle(text, color=self._ink)

    def _moved_by_hand(self, _axes: object) -> None:
        self.set_live(False)
        self._settle.start()

    def _ask_for_range(self) -> None:
        start, end = self.visible_range()
        self.range_wanted.emit(start, end)
