"""List screens open sorted the way their header's arrow says: by the first column ascending
(servers, volumes), or newest first where that is what a person looks for (events)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from chroma_desktop.itemmodels.records import SORT_ROLE
from chroma_desktop.views.events import EventsView
from chroma_desktop.views.servers import ServersView
from chroma_desktop.views.volumes import VolumesView
from chroma_desktop.window import MainWindow
from tests.desktop.conftest import WAIT_S, Site

WAIT_MS = int(WAIT_S * 1000)


def arrow(table: QTableView) -> tuple[int, Qt.SortOrder] | None:
    header = table.horizontalHeader()
    if not header.isSortIndicatorShown() or header.sortIndicatorSection() < 0:
        return None
    return header.sortIndicatorSection(), header.sortIndicatorOrder()


def column_keys(table: QTableView, section: int) -> list[Any]:
    model = table.model()
    keys = [model.index(row, section).data(SORT_ROLE) for row in range(model.rowCount())]
    return [(key is not None, key if key is not None else 0) for key in keys]


def texts(table: QTableView, section: int = 0) -> list[str]:
    model = table.model()
    return [str(model.index(row, section).data()) for row in range(model.rowCount())]


def assert_rows_follow_the_arrow(table: QTableView) -> None:
    shown = arrow(table)
    assert shown is not None, "the header shows no sort arrow"
    section, order = shown
    keys = column_keys(table, section)
    assert keys == sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder), (
        f"rows are not in the order the arrow on column {section} shows ({order.name})"
    )


def test_servers_and_volumes_open_ascending_by_name_as_their_arrow_shows(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    site.pair("sim-mds2")  # paired out of order: the screen must sort, not keep arrival order
    site.pair("sim-mds1")
    servers = window.show_view(ServersView)
    assert isinstance(servers, ServersView)
    qtbot.waitUntil(lambda: servers.proxy.rowCount() == 2, timeout=WAIT_MS)
    assert arrow(servers.table) == (0, Qt.SortOrder.AscendingOrder)
    assert texts(servers.table) == ["sim-mds1", "sim-mds2"]
    assert_rows_follow_the_arrow(servers.table)

    volumes = window.show_view(VolumesView)
    assert isinstance(volumes, VolumesView)
    qtbot.waitUntil(lambda: volumes.proxy.rowCount() >= 2, timeout=WAIT_MS)
    assert arrow(volumes.table) == (0, Qt.SortOrder.AscendingOrder)
    assert texts(volumes.table) == sorted(texts(volumes.table))
    assert_rows_follow_the_arrow(volumes.table)

    # Turning the arrow (as a click on the header does) turns the rows with it.
    servers = window.show_view(ServersView)
    assert isinstance(servers, ServersView)
    servers.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
    assert texts(servers.table) == ["sim-mds2", "sim-mds1"]
    assert_rows_follow_the_arrow(servers.table)


def test_events_open_newest_first_as_their_arrow_shows(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    site.pair("sim-mds1")
    site.pair("sim-mds2")
    events = window.show_view(EventsView)
    assert isinstance(events, EventsView)
    qtbot.waitUntil(lambda: events.proxy.rowCount() >= 2, timeout=WAIT_MS)
    assert arrow(events.table) == (0, Qt.SortOrder.DescendingOrder)
    assert_rows_follow_the_arrow(events.table)
