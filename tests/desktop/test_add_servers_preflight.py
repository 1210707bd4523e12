"""The Add servers dialog checks every server before pairing it: a row of checks per server, a
failing one keeps that server unpaired (the good ones pair), "Pair anyway" gets past it, and
"Check" pairs nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from chroma_desktop.dialogs.add_servers import BAD, GOOD, AddServersDialog
from chroma_desktop.views.servers import ServersView
from tests.desktop.conftest import TOKEN, Site
from tests.desktop.test_servers import WAIT_MS, open_dialog, paired_count, progress, view

__all__ = ["view"]  # the fixture


def fault(site: Site, server: str, action: str) -> None:
    site.manager.reactor_thread.call_and_wait(lambda: site.cluster.fault(server, action))


def cell(dialog: AddServersDialog, address: str, title: str, role: Any = None) -> Any:
    rows = [str(dialog.model.index(r, 0).data()) for r in range(dialog.model.rowCount())]
    column = [c.title for c in dialog.model.columns].index(title)
    index = dialog.model.index(rows.index(address), column)
    return index.data() if role is None else index.data(role)


def colour(dialog: AddServersDialog, address: str, title: str) -> str:
    return str(cell(dialog, address, title, Qt.ItemDataRole.ForegroundRole).color().name())


def fill(qtbot: Any, dialog: AddServersDialog, addresses: list[str]) -> None:
    dialog.addresses.setText(", ".join(addresses))
    dialog.token.setText(TOKEN)
    qtbot.waitUntil(lambda: dialog.profile.count() > 0, timeout=WAIT_MS)


def test_a_server_whose_clock_is_off_is_not_paired_until_paired_anyway(
    qtbot: Any, view: ServersView, site: Site
) -> None:
    fault(site, "sim-mds2", "skew-clock")
    good, skewed = site.address("sim-mds1"), site.address("sim-mds2")
    dialog = open_dialog(qtbot, view)
    fill(qtbot, dialog, [good, skewed])
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(
        lambda: progress(dialog) == ["paired as sim-mds1", "not paired: checks failed: clock"],
        timeout=WAIT_MS,
    )
    assert paired_count(site) == 1
    assert cell(dialog, skewed, "Clock") == "fail"
    assert colour(dialog, skewed, "Clock") == BAD
    assert "sim-mds2's clock is 15 min ahead" in cell(
        dialog, skewed, "Clock", Qt.ItemDataRole.ToolTipRole
    )
    for title in ("Agent reachable", "Pairing token", "Clock", "Lustre", "LNet", "Hostname"):
        assert cell(dialog, good, title) == "pass", title
        assert colour(dialog, good, title) == GOOD
    assert cell(dialog, good, "Agent version") == "warn"  # agent 9.9, this desktop another
    assert "@tcp" in cell(dialog, good, "LNet", Qt.ItemDataRole.ToolTipRole)
    assert dialog.details.isVisible()
    assert "15 min ahead" in dialog.details.text() and "chronyd" in dialog.details.text()
    assert "stopped by a failed check" in dialog.summary.text()
    assert "Pair anyway" in dialog.summary.text()
    assert dialog.retry_button.isEnabled()

    dialog.pair_anyway.setChecked(True)
    qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: progress(dialog) == ["paired as sim-mds1", "paired as sim-mds2"], timeout=WAIT_MS
    )
    assert paired_count(site) == 2
    assert cell(dialog, skewed, "Clock") == "fail"  # paired despite it, and still shown


def test_check_only_shows_every_servers_checks_and_pairs_nothing(
    qtbot: Any, view: ServersView, site: Site
) -> None:
    fault(site, "sim-mds2", "no-lustre-tools")
    good, bare = site.address("sim-mds1"), site.address("sim-mds2")
    dialog = open_dialog(qtbot, view)
    fill(qtbot, dialog, [good, bare])
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(
        lambda: (
            progress(dialog)
            == ["checks passed with warnings: agent version", "checks failed: lustre"]
        ),
        timeout=WAIT_MS,
    )
    assert cell(dialog, bare, "Lustre") == "fail"
    assert "mkfs.lustre, lctl and mount.lustre are not installed on sim-mds2" in cell(
        dialog, bare, "Lustre", Qt.ItemDataRole.ToolTipRole
    )
    assert dialog.summary.text().startswith("2 of 2 checked; 1 failed a check")
    assert dialog.details.text().startswith(f"<b>{bare}</b>")  # the failing one, unasked
    dialog.table.selectRow(0)
    assert dialog.details.text().startswith(f"<b>{good}</b>")
    assert "Agent version</b> (warn): Agent 9.9 and desktop" in dialog.details.text()
    assert paired_count(site) == 0

    # The same server as a monitored one needs only Lustre, which is installed there.
    assert dialog.choose_profile("monitored_storage")
    dialog.addresses.setText(bare)
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: progress(dialog)[0].startswith("checks passed"), timeout=WAIT_MS)
    assert cell(dialog, bare, "Lustre") == "warn"  # installed, not loaded: nothing to watch yet
    assert paired_count(site) == 0
