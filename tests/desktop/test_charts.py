"""Charts on the simulator: a paired server's statistics appear on its charts, live, and
zooming with the mouse leaves live mode for the history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure
from chroma_desktop.history import History, Subject, SubjectKind
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.charts import ChartsView
from stats.store import StatsStore
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.history_support import context

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
