"""Adding servers from the Servers screen, as an admin would: a list of addresses and the token
`chroma-agent pair` printed, each server's progress in the dialog, mistakes told in words, and
the paired servers' details below the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from agentlink.discovery import AgentBrowser
from chroma_desktop.bridge import Bridge
from chroma_desktop.dialogs.add_servers import AddServersDialog
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.servers import ServersView
from core.models import Host
from tests.agentlink.test_discovery import LOOPBACK, LoopbackNamespace, loopback
from tests.desktop.conftest import TOKEN, WAIT_S, Site
from tests.desktop.test_filesystems import cells

WAIT_MS = int(WAIT_S * 1000)
WRONG_TOKEN = "AAAAA-BBBBB-CCCCC-DDDDD"
__all__ = ["loopback"]  # the fixture


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[ServersView]:
    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = ServersView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    if shown.add_dialog is not None:
        shown.add_dialog.reject()
    site.manager.listeners.remove(bridge.publish)


def open_dialog(qtbot: Any, view: ServersView) -> AddServersDialog:
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.add_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def progress(dialog: AddServersDialog) -> list[str]:
    return [str(dialog.model.index(row, 1).data()) for row in range(dialog.model.rowCount())]


def paired_count(site: Site) -> int:
    with site.manager.database.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Host).where(Host.cert_fingerprint.is_not(None))
            )
            or 0
        )


def test_both_servers_are_added_from_a_list_and_their_details_shown(
    qtbot: Any, view: ServersView, site: Site
) -> None:
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=WAIT_MS)
    dialog = open_dialog(qtbot, view)
    addresses = [site.address("sim-mds1"), site.address("sim-mds2")]
    dialog.addresses.setText(", ".join(addresses))
    assert dialog.count_label.text().startswith("2 servers")
    dialog.token.setText(TOKEN)
    qtbot.waitUntil(lambda: dialog.profile.count() > 0, timeout=WAIT_MS)
    assert dialog.profile.currentText() == "Managed storage server"  # the default
    assert dialog.choose_profile("monitored_storage")
    assert not dialog.choose_profile("no such profile")
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(
        lambda: all(text.startswith("paired as sim-mds") for text in progress(dialog)),
        timeout=WAIT_MS,
    )
    rows = {str(dialog.model.index(r, 0).data()): progress(dialog)[r] for r in range(2)}
    assert rows == {
        addresses[0]: "paired as sim-mds1",
        addresses[1]: "paired as sim-mds2",
    }
    assert dialog.summary.text().startswith("2 of 2 paired")
    assert not dialog.retry_button.isEnabled()

    qtbot.waitUntil(lambda: view.proxy.rowCount() == 2, timeout=WAIT_MS)
    assert not view.empty.isVisible()
    assert cells(view.proxy, "Managed") == ["monitored only"] * 2  # watched, never changed
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.add_dialog is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=WAIT_MS)  # deleted, not hidden

    view.table.selectRow(0)
    selected = view.selected()
    assert selected is not None
    assert view.details.isVisible()
    assert view.detail_labels["Address"].text() == selected.address
    assert view.detail_labels["Nodename"].text() in ("sim-mds1", "sim-mds2")
    assert view.detail_labels["Agent version"].text() == "9.9"
    assert view.detail_labels["Certificate"].text() == selected.cert_fingerprint
    qtbot.waitUntil(
        lambda: view.detail_labels["Link"].text().startswith("connected"), timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: view.detail_labels["Last report"].text() != "never", timeout=WAIT_MS)


def test_a_mistyped_hostlist_or_token_is_told_under_its_field_and_nothing_is_tried(
    qtbot: Any, view: ServersView, site: Site
) -> None:
    dialog = open_dialog(qtbot, view)
    dialog.addresses.setText("oss[01-16")
    dialog.token.setText(TOKEN)
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)
    assert dialog.addresses_error.isVisible()
    assert "never closed" in dialog.addresses_error.text()
    assert "Traceback" not in dialog.addresses_error.text()
    assert dialog.model.rowCount() == 0

    dialog.addresses.setText(site.address("sim-mds1"))
    assert not dialog.addresses_error.isVisible()
    dialog.token.setText("not a token")
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)
    assert dialog.token_error.isVisible()
    assert "chroma-agent pair" in dialog.token_error.text()
    assert dialog.model.rowCount() == 0
    assert paired_count(site) == 0


def test_a_wrong_token_fails_in_words_pairs_nothing_and_the_failed_can_be_retried(
    qtbot: Any, view: ServersView, site: Site
) -> None:
    view.add_shortcut.activated.emit()  # Ctrl+N
    dialog = view.add_dialog
    assert dialog is not None
    dialog.addresses.setText(site.address("sim-mds1"))
    dialog.token.setText(WRONG_TOKEN)
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: progress(dialog)[0].startswith("failed: "), timeout=WAIT_MS)
    reason = progress(dialog)[0]
    assert "token" in reason and "Traceback" not in reason and "Internal error" not in reason
    assert dialog.retry_button.isEnabled()
    assert "Retry failed" in dialog.summary.text()
    assert paired_count(site) == 0

    dialog.token.setText(TOKEN)
    qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: progress(dialog) == ["paired as sim-mds1"], timeout=WAIT_MS)
    assert paired_count(site) == 1
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 1, timeout=WAIT_MS)


def test_agents_announced_on_the_network_are_offered_for_pairing(
    qtbot: Any, view: ServersView, loopback: LoopbackNamespace
) -> None:
    """zeroconf runs in a network namespace of the test's own (see test_discovery.py)."""
    view.context.browse = lambda on_change: loopback.make(
        lambda: AgentBrowser(LOOPBACK, on_change), AgentBrowser.close
    )
    announcer = loopback.announcer()
    for n in (1, 2):
        announcer.announce(
            f"oss0{n}", f"oss0{n}", 7000 + n, ["127.0.0.1"], f"sha256:{n:064x}", "9.9"
        )
    dialog = open_dialog(qtbot, view)
    qtbot.waitUntil(lambda: dialog.found.rowCount() == 2, timeout=WAIT_MS)
    assert cells(dialog.found_proxy, "Server") == ["oss01", "oss02"]
    assert cells(dialog.found_proxy, "Address") == ["127.0.0.1:7001", "127.0.0.1:7002"]
    assert dialog.found_note.text().startswith("2 agents found")

    dialog.addresses.setText("mds1")
    dialog.found_table.selectRow(1)
    dialog.use_found()
    assert dialog.addresses.text() == "mds1, 127.0.0.1:7002"
    assert dialog.count_label.text().startswith("2 servers")


def test_without_discovery_the_dialog_says_so_and_pairing_by_name_still_works(
    qtbot: Any, view: ServersView
) -> None:
    dialog = open_dialog(qtbot, view)
    assert "off in this session" in dialog.found_note.text()
    assert not dialog.use_found_button.isEnabled()
