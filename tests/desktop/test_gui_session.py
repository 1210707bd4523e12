"""The windowed program's session: behind the window runs the same manager as `--headless`,
serving the local REST API, so `chroma` talks to the open window's manager; closing the window
withdraws it."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from agentlink.runtime import ReactorThread
from chroma_desktop.api.discovery import find_running_manager
from chroma_desktop.bridge import Bridge
from chroma_desktop.cli.main import main as chroma
from chroma_desktop.gui import DesktopSession
from chroma_desktop.window import MainWindow
from core.paths import app_paths
from tests.desktop.conftest import WAIT_S


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The session freezes what exists once it has started (a GC pause saver for the app);
    the test process gives those objects back to the collector afterwards."""
    yield
    gc.unfreeze()


def test_the_window_serves_the_api_chroma_talks_to_until_it_closes(
    qtbot: Any,
    qt_leak_check: None,
    reactor_thread: ReactorThread,
    capsys: pytest.CaptureFixture[str],
    unfrozen: None,
) -> None:
    bridge = Bridge()
    window = MainWindow(bridge)
    qtbot.addWidget(window)
    window.show()
    session = DesktopSession(bridge, demo=False, reactor_thread=reactor_thread)
    session.start(window)
    data_dir = app_paths().data_dir
    try:
        qtbot.waitUntil(lambda: window.context is not None, timeout=int(WAIT_S * 1000))
        running = find_running_manager(data_dir)
        assert running is not None
        assert running.pid == os.getpid() and not running.headless
        capsys.readouterr()
        assert chroma(["server-list", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
    finally:
        session.stop()
    assert find_running_manager(data_dir) is None
