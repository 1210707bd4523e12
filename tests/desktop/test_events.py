"""The Events screen on the simulator: what happened to two paired servers (alerts raised, LNet
brought up by a command) shows newest first, narrowed by server, severity, kind and words, and
the screen says when it shows only the newest of more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chroma_desktop.bridge import Bridge
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.events import EventsView
from core.models import Severity
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.test_commands import lnet_state, paired_with_lnet_unloaded, request_lnet_up

WAIT_MS = int(WAIT_S * 1000)


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[EventsView]:
    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = EventsView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    site.manager.listeners.remove(bridge.publish)


def shown(view: EventsView) -> list[dict[str, str]]:
    """The rows as the admin sees them (filtered and sorted)."""
    titles = [c.title for c in view.model.columns]
    return [
        {title: str(view.proxy.index(row, i).data()) for i, title in enumerate(titles)}
        for row in range(view.proxy.rowCount())
    ]


def test_the_timeline_shows_what_happened_newest_first_and_filters_narrow_it(
    qtbot: Any, view: EventsView, site: Site
) -> None:
    qtbot.waitUntil(lambda: view.status.text() == "No events match.", timeout=WAIT_MS)
    mds1 = paired_with_lnet_unloaded(qtbot, site, "sim-mds1")
    site.pair("sim-mds2")
    request_lnet_up(site, mds1)
    qtbot.waitUntil(lambda: lnet_state(site, mds1) == "up", timeout=WAIT_MS)

    def kinds_by_server() -> set[tuple[str, str]]:
        return {(row["Server"], row["Kind"]) for row in shown(view)}

    # Both agents run another version (alerts), and mds1's LNet came up (the command's jobs).
    wanted = {("sim-mds1", "alert"), ("sim-mds2", "alert"), ("sim-mds1", "job")}
    qtbot.waitUntil(lambda: wanted <= kinds_by_server(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: any(row["Message"].startswith("LNet on sim-mds1 is now up") for row in shown(view)),
        timeout=WAIT_MS,
    )
    times = [row["Time"] for row in shown(view)]
    assert times == sorted(times, reverse=True), "newest first"
    everything = len(shown(view))
    assert view.status.text() == f"{everything:,} events."

    view.set_filters(server="sim-mds2")
    qtbot.waitUntil(lambda: {row["Server"] for row in shown(view)} == {"sim-mds2"}, timeout=WAIT_MS)
    assert any("version 9.9" in row["Message"] for row in shown(view))

    view.set_filters(kind="job")
    qtbot.waitUntil(lambda: {row["Kind"] for row in shown(view)} == {"job"}, timeout=WAIT_MS)
    assert ("sim-mds1", "job") in kinds_by_server()
    assert all(row["Severity"] == "info" for row in shown(view))

    view.set_filters(min_severity=Severity.WARNING)
    qtbot.waitUntil(
        lambda: {row["Kind"] for row in shown(view)} == {"alert"} and len(shown(view)) >= 2,
        timeout=WAIT_MS,
    )
    assert all(row["Severity"] in ("warning", "error", "critical") for row in shown(view))

    view.set_filters()
    qtbot.waitUntil(lambda: len(shown(view)) >= everything, timeout=WAIT_MS)
    view.filter.setText("lnet UP")  # every word, any case, at once on what was read
    assert shown(view) and len(shown(view)) < everything
    assert all({"lnet", "up"} <= set(row["Message"].lower().split()) for row in shown(view))
    view.filter.clear()

    # Bounded: only the newest are read, and the screen says so.
    view.limit = 2
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "Only the newest 2 matching" in view.status.text(), timeout=WAIT_MS)
    assert [row["Time"] for row in shown(view)] == times[:2] or shown(view)[0]["Time"] >= times[0]
