"""Charts on the simulator: a paired server's statistics appear on its charts, live, and
zooming with the mouse leaves live mode for the history."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsPathItem

from chroma_desktop.bridge import Bridge
from chroma_desktop.charts.balance import CELL_PX, GAP_PX, fill_colour
from chroma_desktop.charts.plot import TimeSeriesPlot
from chroma_desktop.failures import Failure
from chroma_desktop.history import History, ObjectKind, Series, Subject, SubjectKind
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.charts import ChartsView
from stats.store import StatsStore
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.history_support import ReportFeed, context

WAIT_MS = int(WAIT_S * 1000)
__all__ = ["context"]  # the fixture


def wheel(widget: Any, steps: int) -> None:
    viewport = widget.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(viewport.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


def test_a_paired_servers_charts_fill_live_and_zooming_leaves_live_mode(
    qtbot: Any, context: AppContext, site: Site
) -> None:
    view = ChartsView(context)
    view.live_interval_ms = 200
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    assert view.plots and all(p.point_count() == 0 for p in view.plots)  # nothing paired yet

    address = site.pair("sim-mds1").address
    server = Subject(SubjectKind.SERVER, address)
    qtbot.waitUntil(lambda: server in view.subjects(), timeout=WAIT_MS)
    view.choose(server)
    assert [p.title for p in view.plots] == ["CPU", "Memory used", "LNet messages"]
    memory = view.plots[1]
    qtbot.waitUntil(lambda: memory.point_count() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.plots[0].point_count() > 0, timeout=WAIT_MS)  # CPU: a rate
    assert "sim-mds1" in view.subject_box.currentText()
    start, end = memory.visible_range()
    assert end - start == pytest.approx(300, abs=5)  # the 5-minute window, ending now
    qtbot.waitUntil(lambda: memory.visible_range()[1] > end, timeout=WAIT_MS)  # live: it moves

    wheel(memory.widget, 3)  # zoom in on the newest minute or so
    assert not memory.live
    assert not view.live_box.isChecked()
    zoomed = memory.visible_range()
    assert zoomed[1] - zoomed[0] < 300
    view.live_box.setChecked(True)
    assert memory.live


def test_a_stats_store_in_use_elsewhere_is_a_message_and_the_charts_say_why_they_are_empty(
    qtbot: Any, tmp_path: Path, site: Site, qt_leak_check: None
) -> None:
    bridge = Bridge()
    holder = StatsStore.open(tmp_path / "data" / "stats")  # as another desktop process would
    try:
        with qtbot.waitSignal(bridge.failed, timeout=WAIT_MS) as failed:
            history = History(tmp_path / "data", on_error=bridge.report)
        failure = failed.args[0]
        assert isinstance(failure, Failure)
        assert "in use by another Chroma Desktop process" in failure.message
        assert failure.hint and "Close the other instance" in failure.hint
        assert not failure.internal
        view = ChartsView(AppContext(site.manager, bridge, actor="alice", history=history))
        qtbot.addWidget(view)
        view.show()
        qtbot.waitUntil(
            lambda: all("in use by another" in p.item.titleLabel.text for p in view.plots),
            timeout=WAIT_MS,
        )
        history.close()
    finally:
        holder.close()


def test_a_filesystems_ost_balance_heat_map_shows_each_osts_fill_and_the_spread(
    qtbot: Any, tmp_path: Path, site: Site, qt_leak_check: None
) -> None:
    history = History(tmp_path / "data")
    reports = ReportFeed()
    history.attach(reports)
    now = time.time()
    fills = {"fs1-OST0000": 0.25, "fs1-OST0001": 0.5, "fs1-OST0002": 0.9, "fs2-OST0000": 0.1}
    for name, used in fills.items():
        reports.push(
            "10.0.0.2:988",
            [
                {"kind": "stat", "t": now, "subject": name, "metric": "kbytestotal",
                 "value": 1000.0},
                {"kind": "stat", "t": now, "subject": name, "metric": "kbytesfree",
                 "value": 1000.0 * (1 - used)},
            ],
        )  # fmt: skip
    view = ChartsView(AppContext(site.manager, Bridge(), actor="alice", history=history))
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    try:
        fs1 = Subject(SubjectKind.FILESYSTEM, "fs1")
        qtbot.waitUntil(lambda: fs1 in view.subjects(), timeout=WAIT_MS)
        view.choose(fs1)
        assert view.balance.isVisible()
        qtbot.waitUntil(lambda: "3 OSTs" in view.balance.summary.text(), timeout=WAIT_MS)
        assert view.balance.summary.text() == (
            "OST balance of 3 OSTs: 55 % used on average, 25 % to 90 % (spread 65 points); "
            "fullest fs1-OST0002."
        )
        cells = view.balance.cells
        third = (2 * (CELL_PX + GAP_PX) + GAP_PX + 1, GAP_PX + 1)
        assert cells.cell_at(*third) == 2
        assert cells.cell_at(3 * (CELL_PX + GAP_PX) + GAP_PX + 1, GAP_PX + 1) is None
        image = cells.grab().toImage()
        assert image.pixelColor(*third).name() == fill_colour(0.9).name()

        view.choose(Subject(SubjectKind.TARGET, "fs1-OST0000", ObjectKind.OST))
        assert not view.balance.isVisible()
    finally:
        history.close()


def test_fill_colours_run_from_green_through_amber_to_red() -> None:
    assert fill_colour(0.0).name() == "#2e7d32"
    assert fill_colour(0.6).name() == "#f9a825"
    assert fill_colour(1.0).name() == fill_colour(1.7).name() == "#c62828"
    assert fill_colour(math.nan).name() == "#c8c8c8"
    assert fill_colour(0.3).greenF() > fill_colour(0.9).greenF()


def test_a_million_point_line_and_its_band_draw_a_bucket_per_pixel_and_spikes_survive_a_pan(
    qtbot: Any, qt_leak_check: None
) -> None:
    n = 1_000_000
    ts = 1_700_000_000 + np.arange(n, dtype=np.int64) * 10
    avg = np.cumsum(np.random.default_rng(1).normal(size=n))
    low, high = avg - 1.0, avg + 1.0
    spike = n // 2 + 1234
    high[spike] = avg.max() + 1000.0  # one sample's maximum, far above the rest
    plot = TimeSeriesPlot("walk")
    qtbot.addWidget(plot)
    plot.resize(1000, 300)
    plot.show()
    plot.set_series("walk", Series(ts, avg, low, high, 10))
    (curve,) = plot.item.listDataItems()
    (band,) = [i for i in plot.item.items if isinstance(i, QGraphicsPathItem)]
    pixels = plot.pixel_width()
    span = float(ts[-1] - ts[0]) / 10

    def drawn(start: float) -> tuple[Any, QRectF]:
        plot.show_range(start, start + span)
        plot.widget.viewport().repaint()
        x, _ = curve.curve.getData()
        return x, band.boundingRect()

    x, outline = drawn(float(ts[0]))
    assert pixels <= len(x) <= 4 * pixels  # 100,000 samples in view, a few per pixel drawn
    assert band.path().elementCount() <= 5 * pixels
    assert outline.left() <= ts[0] and outline.right() >= ts[0] + span  # the whole view
    assert outline.width() < 2 * span  # and not the whole series
    assert outline.bottom() < high[spike]  # the spike is not in this view

    start = float(ts[spike]) - span / 2
    x, outline = drawn(start)
    pixel = span / pixels
    assert x[0] <= start + pixel and x[-1] >= start + span - pixel  # the line spans the view
    assert outline.bottom() == pytest.approx(high[spike])  # the band followed, its spike kept
    view = plot.item.getViewBox()
    qtbot.waitUntil(lambda: view.viewRange()[1][1] >= high[spike], timeout=WAIT_MS)  # shown


def test_a_chart_takes_its_colours_from_a_dark_palette(qtbot: Any, qt_leak_check: None) -> None:
    plot = TimeSeriesPlot("CPU", "%")
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Base, QColor("#202020"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#f0f0f0"))
    plot.setPalette(dark)  # as when the desktop switches to a dark theme

    assert plot.widget.grab().toImage().pixelColor(2, 2).name() == "#202020"  # not a white box
    axis = plot.item.getAxis("left")
    text, grid = axis.textPen().color(), axis.tickPen().color()
    assert text.lightness() > 100  # readable on the dark background
    assert 0x20 < grid.lightness() < text.lightness()  # a faint grid, lighter than the ground
