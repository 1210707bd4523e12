"""The window on the simulator: servers paired, shown with their links and LNet, and an action
taken through its plan, as an admin would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton

from chroma_desktop.views import VIEW_TITLES, all_view_classes
from chroma_desktop.views.servers import ServersView
from chroma_desktop.window import MainWindow
from tests.desktop.conftest import WAIT_S, Site

WAIT_MS = int(WAIT_S * 1000)


def test_every_screen_in_the_navigation_is_found_by_its_title() -> None:
    assert [cls.title for cls in all_view_classes()] == list(VIEW_TITLES)


def cell(view: ServersView, row: int, title: str) -> str:
    columns = [c.title for c in view.model.columns]
    return str(view.proxy.index(row, columns.index(title)).data())


def test_paired_servers_show_their_link_and_lnet_and_an_action_runs_through_its_plan(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    view = window.show_view(ServersView)
    assert isinstance(view, ServersView)
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=WAIT_MS)  # nothing paired yet
    site.pair("sim-mds1")
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cell(view, 0, "Link") == "connected", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cell(view, 0, "LNet") == "unloaded", timeout=WAIT_MS)
    assert "connected to 1 server" in window.links_label.text().lower()

    view.table.selectRow(0)
    qtbot.waitUntil(lambda: "Load" in " ".join(view.lnet_actions.buttons), timeout=WAIT_MS)
    start = next(verb for verb in view.lnet_actions.buttons if verb.startswith("Start"))
    qtbot.mouseClick(view.lnet_actions.buttons[start], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.lnet_actions.plan_dialog is not None, timeout=WAIT_MS)
    dialog = view.lnet_actions.plan_dialog
    assert dialog is not None
    commands = dialog.commands.toPlainText()
    assert "modprobe" in commands or "lnetctl" in commands or "lctl" in commands, commands
    with qtbot.waitSignal(view.lnet_actions.command_started, timeout=WAIT_MS) as started:
        dialog.run_button.click()
    command_id = started.args[0]
    assert f"Command {command_id} started" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: cell(view, 0, "LNet") == "up", timeout=WAIT_MS)
    assert cell(view, 0, "NIDs")  # learnt from lctl list_nids when LNet came up
    assert isinstance(dialog, QDialog) and isinstance(dialog.run_button, QPushButton)


def test_a_failed_request_is_a_message_in_the_window_not_a_traceback(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    def refuse(scheduler: object) -> int:
        raise ValueError("boom")

    assert window.context is not None
    window.context.schedule(refuse, lambda _: None, owner=window)
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=WAIT_MS)
    text = window.message_bar.label.text()
    assert text.startswith("Internal error (ValueError: boom).") and "Traceback" not in text
    assert "details are in" in text


def test_the_demo_command_runs_this_program() -> None:
    from chroma_desktop.app import demo_command

    program, *arguments = demo_command()
    assert arguments[-1] == "--demo"
    shown = subprocess.run(
        [program, *arguments[:-1], "--version"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and shown.stdout.startswith("chroma-desktop ")


def test_new_simulated_cluster_starts_another_program_or_says_why_not(
    qtbot: Any, qt_leak_check: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chroma_desktop import app
    from chroma_desktop.bridge import Bridge

    window = MainWindow(Bridge())
    qtbot.addWidget(window)
    window.show()
    marker = tmp_path / "started"
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('demo')"
    monkeypatch.setattr(app, "demo_command", lambda: [sys.executable, "-c", script, str(marker)])
    window.new_simulator_action.trigger()
    qtbot.waitUntil(marker.exists, timeout=WAIT_MS)
    assert "simulated servers" in window.message_bar.label.text()

    monkeypatch.setattr(app, "demo_command", lambda: [str(tmp_path / "no-such-program")])
    assert not window.open_simulated_cluster()
    assert "could not be started" in window.message_bar.label.text()


def test_ctrl_f_finds_in_the_screen_and_f5_reads_it_again(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    view = window.show_view(ServersView)
    assert isinstance(view, ServersView)
    qtbot.waitUntil(lambda: not view.loading, timeout=WAIT_MS)
    view.filter.setText("sim-mds")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.filter.hasFocus() or window.focusWidget() is view.filter
    assert view.filter.selectedText() == "sim-mds"  # typing replaces the old filter
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert view.loading
    qtbot.waitUntil(lambda: not view.loading, timeout=WAIT_MS)
