"""The desktop tests' leak check sees what it is there to catch: a window left open and a timer
left running."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from tests.desktop.conftest import _running_timers


def test_a_running_timer_is_seen_until_it_stops_or_its_owner_goes(qapp: Any) -> None:
    loose = QTimer()
    loose.start(60_000)
    owner = QWidget()
    owned = QTimer(owner)
    owned.start(60_000)
    running = _running_timers()
    assert loose in running and owned in running
    loose.stop()
    owner.deleteLater()
    qapp.sendPostedEvents(None, 52)  # QEvent.DeferredDelete
    assert not [t for t in _running_timers() if t is loose]
    assert len(_running_timers()) == len(running) - 2
