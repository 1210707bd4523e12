"""The Targets screen: every target of every filesystem in one table that stays quick to filter
at 10,000 rows, sorts by size as numbers, and says where a target runs away from its primary.
(The screen on a live filesystem, with its actions, is exercised by test_filesystems.py.)"""

from __future__ import annotations

import math
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chroma_desktop.bridge import Bridge
from chroma_desktop.history import TargetFigures
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.targets import WARN, TargetsView
from core.models import TargetKind
from core.queries.filesystems import TargetRow
from core.states import TargetState
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.test_filesystems import cells

WAIT_MS = int(WAIT_S * 1000)
GIB = 1 << 30
EXPECTED = {
    "fs07-OST000": 16,  # fs07-OST0000 … OST000f
    "oss02": 40 * 14,  # the failover server of each MDT and of OSTs 0, 20, … 240
    "mdt": 40,
    "recovering": 40,
    "": 10_000,
}


def many_targets(filesystems: int = 40, osts: int = 249) -> list[TargetRow]:
    """10,000 targets: per filesystem an MDT and `osts` OSTs on 20 HA pairs of servers, every
    tenth OST failed over to its partner."""
    rows: list[TargetRow] = []
    for f in range(filesystems):
        fsname = f"fs{f:02d}"
        rows.append(_row(len(rows), f"{fsname}-MDT0000", fsname, TargetKind.MDT, 0))
        for index in range(osts):
            rows.append(_row(len(rows), f"{fsname}-OST{index:04x}", fsname, TargetKind.OST, index))
    return rows


def _row(ident: int, name: str, fsname: str, kind: TargetKind, index: int) -> TargetRow:
    pair = index % 20
    primary, partner = f"oss{2 * pair + 1:02d}", f"oss{2 * pair + 2:02d}"
    failed_over = kind == TargetKind.OST and index % 10 == 9
    return TargetRow(
        id=ident,
        name=name,
        kind=kind,
        filesystem=fsname,
        filesystem_ids=(int(fsname[2:]),),
        state=TargetState.MOUNTED,
        volume=f"{primary}:/dev/mapper/lun{index}",
        size_bytes=(index % 7 + 1) * 1024 * GIB,
        primary=primary,
        failover=(partner,),
        active=partner if failed_over else primary,
        recovering=index == 3,
        monitor_only=False,
    )


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> TargetsView:
    bridge = Bridge()
    shown = TargetsView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.resize(1400, 900)
    shown.show()
    qtbot.waitUntil(lambda: not shown.loading, timeout=WAIT_MS)  # the empty site read
    assert shown.empty.isVisible()
    return shown


def test_ten_thousand_targets_filter_letter_by_letter_and_word_by_word(view: TargetsView) -> None:
    rows = many_targets()
    assert len(rows) == 10_000
    view.show_data(rows)
    assert view.count.text() == "10,000 targets"
    assert not view.empty.isVisible()

    # the admin types a name letter by letter, then a few words
    typed = [word[:n] for word in ("fs07-OST000", "oss02") for n in range(1, len(word) + 1)]
    for text in [*typed, "", "mdt", "recovering", ""]:
        view.filter.setText(text)
        assert view.proxy.rowCount() == EXPECTED.get(text, view.proxy.rowCount()), text
    # How fast: bench/gui.py measures filter_10k_ms on these rows (target <= 50 ms).
    view.filter.setText("mounted OST00f fs07")
    assert cells(view.proxy, "Name") == [f"fs07-OST00f{i:x}" for i in range(9)]
    assert view.count.text() == "9 of 10,000"


def test_sizes_sort_as_numbers_and_a_failed_over_target_stands_out(view: TargetsView) -> None:
    view.show_data(many_targets(filesystems=1, osts=20))
    columns = [c.title for c in view.model.columns]
    view.table.sortByColumn(columns.index("Size"), Qt.SortOrder.DescendingOrder)
    sizes = [
        view.model.record(view.proxy.mapToSource(view.proxy.index(r, 0)).row()).size_bytes
        for r in range(view.proxy.rowCount())
    ]
    assert sizes == sorted(sizes, reverse=True)
    assert cells(view.proxy, "Size")[0] == "7.0 TiB"

    view.filter.setText("fs00-OST0009")
    active = view.proxy.index(0, columns.index("Active server"))
    assert active.data() == "oss20"  # its partner, not its primary oss19
    assert active.data(Qt.ItemDataRole.ForegroundRole).color().name() == WARN
    assert "failover" in active.data(Qt.ItemDataRole.ToolTipRole)
    assert cells(view.proxy, "Recovery") == [""]
    view.filter.setText("fs00-OST0003")
    assert cells(view.proxy, "Recovery") == ["recovering"]


def test_live_figures_show_beside_each_target_and_the_busiest_sort_first(
    view: TargetsView,
) -> None:
    view.show_data(many_targets(filesystems=1, osts=20))
    columns = [c.title for c in view.model.columns]
    at = columns.index("Active server") + 1  # beside where it runs, as in ltop
    assert columns[at : at + 4] == ["Read", "Write", "Used", "Ops/s"]
    assert set(cells(view.proxy, "Write")) == {""}  # nothing reported yet

    figures = {
        f"fs00-OST{i:04x}": TargetFigures(i * 2**20, (20 - i) * 2**20, 5.0 * i, math.nan)
        for i in range(20)
    }
    figures["fs00-MDT0000"] = TargetFigures(math.nan, math.nan, 12.4, 3456.0)
    view._show_figures(figures)
    view.filter.setText("fs00-OST0003")
    assert cells(view.proxy, "Read") == ["3.0 MiB/s"]
    assert cells(view.proxy, "Write") == ["17.0 MiB/s"]
    assert cells(view.proxy, "Used") == ["15 %"]
    view.filter.setText("MiB/s")  # figures change every few seconds: the filter ignores them
    assert view.proxy.rowCount() == 0
    view.filter.setText("mdt")
    assert cells(view.proxy, "Ops/s") == ["3,456"]
    assert cells(view.proxy, "Used") == ["12 %"]

    view.filter.setText("")
    view.table.sortByColumn(columns.index("Write"), Qt.SortOrder.DescendingOrder)
    assert cells(view.proxy, "Name")[:2] == ["fs00-OST0000", "fs00-OST0001"]
    # new figures: the table sorted by Write sorts again
    view._show_figures({**figures, "fs00-OST0013": TargetFigures(0.0, 2**30, 1.0, math.nan)})
    assert cells(view.proxy, "Name")[0] == "fs00-OST0013"
    assert cells(view.proxy, "Write")[0] == "1.0 GiB/s"


def test_the_same_figures_read_again_do_not_repaint_the_table(
    view: TargetsView, qtbot: Any
) -> None:
    view.show_data(many_targets(filesystems=1, osts=4))

    def read() -> dict[str, TargetFigures]:  # a new answer each time, unknowns as NaN
        return {
            f"fs00-OST{i:04x}": TargetFigures(1.0 * i, math.nan, 5.0, math.nan) for i in range(4)
        }

    view._show_figures(read())
    with qtbot.assertNotEmitted(view.model.dataChanged):
        view._show_figures(read())
    with qtbot.waitSignal(view.model.dataChanged, timeout=1000):
        view._show_figures({**read(), "fs00-OST0001": TargetFigures(1.0, 2.0, 5.0, math.nan)})
