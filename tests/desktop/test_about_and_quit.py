"""Help → About names the version every program reports and where this installation keeps its
data; SIGTERM (a session ending) or Ctrl+C closes the windows and ends the event loop with
status 0 instead of killing the program with its stores open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

from chroma_desktop.bridge import Bridge
from chroma_desktop.window import MainWindow
from core.version import installed_version


@pytest.fixture
def bare_window(qtbot: Any, qt_leak_check: None) -> MainWindow:
    shown = MainWindow(Bridge())
    qtbot.addWidget(shown)
    shown.show()
    return shown


def test_about_names_the_version_and_where_the_data_is(
    bare_window: MainWindow, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMA_HOME", str(tmp_path))
    help_menu = next(
        action.menu() for action in bare_window.menuBar().actions() if action.text() == "&Help"
    )
    about_action = next(a for a in help_menu.actions() if a.text() == "&About Chroma Desktop")

    about_action.trigger()
    about = next(
        w for w in QApplication.topLevelWidgets() if w.windowTitle() == "About Chroma Desktop"
    )
    qtbot.waitExposed(about)

    shown = " ".join(label.text() for label in about.findChildren(QLabel))
    assert f"Chroma Desktop {installed_version()}" in shown
    assert str(tmp_path / "data") in shown and str(tmp_path / "logs") in shown
    about.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert f"Version: {installed_version()}" in copied
    assert f"Settings: {tmp_path / 'config'}" in copied
    about.close()


QUIT_PROGRAM = """
import sys
from PySide6.QtCore import QTimer
from chroma_desktop.bridge import Bridge
from chroma_desktop.qtapp import QuitOnSignals, qt_application
from chroma_desktop.window import MainWindow

app = qt_application()
window = MainWindow(Bridge())
window.show()
watch = QuitOnSignals(app)
QTimer.singleShot(0, lambda: print("shown", flush=True))
status = app.exec()
watch.uninstall()
print("window still visible" if window.isVisible() else "window closed", flush=True)
sys.exit(status)
"""


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_quit_signal_closes_the_window_and_ends_the_program_cleanly(number: int) -> None:
    # In a process of its own: the event loop of the tests' process must not be quit.
    program = subprocess.Popen(
        [sys.executable, "-c", QUIT_PROGRAM],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert program.stdout is not None
    assert program.stdout.readline().strip() == "shown"

    program.send_signal(number)
    out, err = program.communicate(timeout=30)

    assert program.returncode == 0, err
    assert out.strip() == "window closed"
    assert "Traceback" not in err
