"""The Volumes screen on the simulator: once both servers of the HA pair are paired, their shared
LUNs are listed with a primary and a failover server, sizes people read, and each server's
device path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chroma_desktop.bridge import Bridge
from chroma_desktop.itemmodels.records import SORT_ROLE
from chroma_desktop.views import VIEW_TITLES
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.servers import ServersView
from chroma_desktop.views.volumes import VolumesView
from tests.desktop.conftest import WAIT_S, Site

WAIT_MS = int(WAIT_S * 1000)


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[VolumesView]:
    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = VolumesView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    site.manager.listeners.remove(bridge.publish)


def column(view: VolumesView, title: str) -> list[str]:
    index = [c.title for c in view.model.columns].index(title)
    return [str(view.proxy.index(row, index).data()) for row in range(view.proxy.rowCount())]


def shared_luns(site: Site) -> list[str]:
    devices = site.cluster.server("sim-mds1").devices()
    return sorted(d["path"] for d in devices if not d["filesystem"])


def test_shared_luns_of_the_ha_pair_are_listed_with_primary_and_failover(
    qtbot: Any, view: VolumesView, site: Site
) -> None:
    assert VIEW_TITLES.index(VolumesView.title) == VIEW_TITLES.index(ServersView.title) + 1
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=WAIT_MS)
    site.pair("sim-mds1")
    site.pair("sim-mds2")
    luns = shared_luns(site)
    assert luns

    def listed_with_both() -> bool:
        volumes = view.model.rows
        return len(volumes) == len(luns) and all(
            len(v.paths) == 2 and v.primary_server and v.failover_servers for v in volumes
        )

    qtbot.waitUntil(listed_with_both, timeout=WAIT_MS)
    assert not view.empty.isVisible()
    assert set(column(view, "HA status")) == {"Configured (HA)"}
    servers = {"sim-mds1", "sim-mds2"}
    for primary, failover in zip(
        column(view, "Primary server"), column(view, "Failover server"), strict=True
    ):
        assert {primary, failover} == servers
    # The plugin spreads primaries over the pair rather than piling them on one server.
    assert set(column(view, "Primary server")) == servers
    assert set(column(view, "Target")) == {""}
    assert all(text.endswith("iB") for text in column(view, "Size"))

    # Sizes sort as numbers, not as text.
    size_index = [c.title for c in view.model.columns].index("Size")
    view.table.sortByColumn(size_index, Qt.SortOrder.AscendingOrder)
    sizes = [view.proxy.index(r, size_index).data(SORT_ROLE) for r in range(len(luns))]
    assert sizes == sorted(sizes)

    # Each server's device path, in the tooltip and below the table for the selected volume.
    tooltip = str(view.proxy.index(0, size_index + 1).data(Qt.ItemDataRole.ToolTipRole))
    assert "sim-mds1" in tooltip and "sim-mds2" in tooltip and "/dev/disk/by-id/" in tooltip
    view.table.selectRow(0)
    selected = view.selected()
    assert selected is not None
    assert all(path.path in luns for path in selected.paths)
    assert all(path.path in view.detail.text() for path in selected.paths)

    view.filter.setText(selected.name)
    assert view.proxy.rowCount() == 1
    view.filter.setText("no-such-volume")
    assert view.proxy.rowCount() == 0
