"""Logs on the simulator: a paired server's syslog is searchable and filtered on the Logs screen,
and the live tail puts new lines on top as they arrive."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from agentlink.connector import LinkState
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.logs import LogsView
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.history_support import context, reboot

WAIT_MS = int(WAIT_S * 1000)
__all__ = ["context"]  # the fixture
STARTED = "Started Chroma Desktop agent."


def messages(view: LogsView) -> list[str]:
    return [line.message for line in view.model.lines]


def linked(context: AppContext, address: str) -> bool:
    event = context.bridge.links.get(address)
    return event is not None and event.state == LinkState.CONNECTED


def search(qtbot: Any, view: LogsView, text: str) -> None:
    view.search_box.setText(text)
    qtbot.mouseClick(view.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.searching, timeout=WAIT_MS)


def test_the_live_tail_shows_new_lines_and_a_search_finds_them(
    qtbot: Any, context: AppContext, site: Site
) -> None:
    view = LogsView(context)
    view.tail_interval_ms = 100
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitUntil(lambda: view.status.text().startswith("0 lines"), timeout=WAIT_MS)
    view.tail_box.setChecked(True)

    address = site.pair("sim-mds1").address
    qtbot.waitUntil(lambda: linked(context, address), timeout=WAIT_MS)
    reboot(site, "sim-mds1")
    qtbot.waitUntil(lambda: STARTED in messages(view), timeout=WAIT_MS)  # tailed, no search
    assert view.model.lines[0].seq > view.model.lines[-1].seq  # newest on top
    qtbot.waitUntil(lambda: view.server_box.findText("sim-mds1") > 0, timeout=WAIT_MS)
    assert view.model.index(0, 1).data() == "sim-mds1"  # servers by name

    view.tail_box.setChecked(False)
    search(qtbot, view, '"chroma desktop" started')
    assert messages(view) == [STARTED]
    view.severity_box.setCurrentIndex(view.severity_box.findText("err or worse"))
    qtbot.waitUntil(lambda: not view.searching and messages(view) == [], timeout=WAIT_MS)
    view.severity_box.setCurrentIndex(0)
    view.lustre_box.setChecked(True)  # a systemd line is not a Lustre message
    qtbot.waitUntil(lambda: not view.searching and messages(view) == [], timeout=WAIT_MS)
    view.lustre_box.setChecked(False)
    view.server_box.setCurrentIndex(view.server_box.findText("sim-mds1"))
    qtbot.waitUntil(lambda: not view.searching and messages(view) == [STARTED], timeout=WAIT_MS)

    search(qtbot, view, "")  # every line of sim-mds1, and the tail goes on from them
    view.tail_box.setChecked(True)
    newest = view.model.lines[0].seq
    reboot(site, "sim-mds1")
    qtbot.waitUntil(
        lambda: view.model.lines[0].seq > newest and messages(view).count(STARTED) == 2,
        timeout=WAIT_MS,
    )
