"""The Dashboard on the simulator: servers connected, the health roll-up turning red when a
server goes down, and the CPU chart filled from the stats store."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from chroma_desktop.views.base import AppContext
from chroma_desktop.views.dashboard import DashboardView
from core.alerts import HOST, AlertChange, AlertChangeKind
from core.models import Alert, AlertKind, Severity
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.history_support import context

WAIT_MS = int(WAIT_S * 1000)
__all__ = ["context"]  # the fixture


def test_the_dashboard_counts_servers_charts_cpu_and_turns_red_when_a_server_is_down(
    qtbot: Any, context: AppContext, site: Site
) -> None:
    view = DashboardView(context)
    view.chart_interval_ms = 200
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitUntil(lambda: "All is well" in view.health_label.text(), timeout=WAIT_MS)
    assert "0 filesystems" in view.counts_label.text()
    assert all(plot.point_count() == 0 for plot in view.plots)

    server = site.pair("sim-mds1")
    qtbot.waitUntil(
        lambda: view.connected_label.text() == "1 of 1 servers connected", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: view.cpu.point_count() > 0, timeout=WAIT_MS)
    assert view.throughput.point_count() == 0  # no filesystem, no OST: nothing moved

    site.manager.reactor_thread.call_and_wait(lambda: site.cluster.fault("sim-mds1", "crash"))
    qtbot.waitUntil(
        lambda: view.connected_label.text() == "0 of 1 servers connected", timeout=WAIT_MS
    )
    # The alert engine waits SERVER_OFFLINE_GRACE_S (30 s) before it calls a server offline;
    # the dashboard's part is the roll-up of such an alert, raised here as the engine would.
    message = "sim-mds1 is offline"

    def raise_alert(session: Session) -> AlertChange:
        alert = Alert(
            kind=AlertKind.SERVER_OFFLINE,
            severity=Severity.ERROR,
            subject_kind=HOST,
            subject_id=server.host_id,
            message=message,
        )
        session.add(alert)
        session.flush()
        return AlertChange(
            AlertChangeKind.RAISED, alert.id, alert.kind, HOST, server.host_id, message
        )

    context.bridge.publish(site.manager.worker.submit(raise_alert).result(timeout=WAIT_S))
    qtbot.waitUntil(lambda: "Something is down" in view.health_label.text(), timeout=WAIT_MS)
    assert "sim-mds1" in view.health_label.text()
    assert "1 error" in view.alerts_label.text()
    assert message in view.alerts_label.text()
