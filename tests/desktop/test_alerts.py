"""The Alerts screen on the simulator: LNet taken down by hand on a server raises an alert that
shows with its evidence, the admin dismisses it, and when LNet is back it moves to the history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chroma_desktop.bridge import Bridge
from chroma_desktop.views.alerts import AlertsView
from chroma_desktop.views.base import AppContext
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.test_commands import lnet_state, paired_with_lnet_unloaded, request_lnet_up

WAIT_MS = int(WAIT_S * 1000)


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[AlertsView]:
    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = AlertsView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    site.manager.listeners.remove(bridge.publish)


def rows(model: Any) -> list[dict[str, str]]:
    titles = [c.title for c in model.columns]
    return [
        {title: str(model.index(row, i).data()) for i, title in enumerate(titles)}
        for row in range(model.rowCount())
    ]


def lctl(site: Site, *argv: str) -> None:
    server = site.cluster.server("sim-mds1")
    site.manager.reactor_thread.call_and_wait(lambda: server.run(["lctl", *argv]))


def test_lnet_down_by_hand_is_alerted_with_evidence_dismissed_and_then_history(
    qtbot: Any, view: AlertsView, site: Site
) -> None:
    qtbot.waitUntil(lambda: view.no_alerts.isVisible(), timeout=WAIT_MS)
    host_id = paired_with_lnet_unloaded(qtbot, site, "sim-mds1")
    command_id = request_lnet_up(site, host_id)
    assert command_id
    qtbot.waitUntil(lambda: lnet_state(site, host_id) == "up", timeout=WAIT_MS)

    def lnet_alerts(model: Any) -> list[dict[str, str]]:
        return [row for row in rows(model) if "LNet" in row["Message"]]

    # The simulated agent runs another version than the desktop: that is alerted at once.
    qtbot.waitUntil(lambda: view.active.rowCount() == 1, timeout=WAIT_MS)
    assert "version 9.9" in rows(view.active)[0]["Message"]
    assert not lnet_alerts(view.active)  # brought up on purpose: no alert

    lctl(site, "network", "down")  # by hand, behind the desktop's back
    qtbot.waitUntil(lambda: len(lnet_alerts(view.active)) == 1, timeout=WAIT_MS)
    (alert,) = lnet_alerts(view.active)
    assert alert["Subject"] == "sim-mds1" and alert["Severity"] == "warning", alert
    assert not view.no_alerts.isVisible()

    row = rows(view.active).index(alert)
    view.active_table.selectRow(view.active_proxy.mapFromSource(view.active.index(row, 0)).row())
    assert view.evidence.toPlainText().strip(), "an alert says what raised it"
    assert "sim-mds1" in view.evidence_box.title()
    assert "LNet" in view.evidence_label.text()
    assert view.dismiss_button.isEnabled()
    qtbot.mouseClick(view.dismiss_button, Qt.MouseButton.LeftButton)
    # Dismissed, it stays listed while LNet is still down, marked as seen by whom.
    qtbot.waitUntil(
        lambda: "dismissed by alice" in lnet_alerts(view.active)[0]["Message"], timeout=WAIT_MS
    )
    assert not view.dismiss_button.isEnabled()
    assert "Dismissed by alice" in view.evidence_label.text()

    lctl(site, "network", "up")  # fixed by hand: the alert ends and becomes history
    qtbot.waitUntil(lambda: not lnet_alerts(view.active), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(lnet_alerts(view.history)) == 1, timeout=WAIT_MS)
    (ended,) = lnet_alerts(view.history)
    assert ended["Subject"] == "sim-mds1" and ended["Ended"] >= ended["Started"], ended
    assert view.active.rowCount() == 1  # the version is still not the same
