"""Fixtures of the desktop tests: a simulated cluster on 127.0.0.1 served by real agents, a
running manager linked to it, and the window attached to that manager. A Qt test fails if it
leaves a window or dialog behind."""

from __future__ import annotations

import gc
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentlink.runtime import ReactorThread
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.network import SimulatedNetwork
from chroma_desktop.manager import Manager, PairedServer
from core.database import Database
from core.fakes import MemorySecretStore

TOKEN = "K7QPM-2HX9D-RW4TA-0JN3E"
WAIT_S = 20.0


def wait_for(check: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> None:
    """For threads other than the GUI's (Qt tests use qtbot.waitUntil)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


@dataclass
class Site:
    manager: Manager
    cluster: SimulatedCluster
    network: SimulatedNetwork
    events: queue.Queue[Any]
    secrets: MemorySecretStore
    """Where the manager's CA keys are: a second manager with them is the same desktop."""

    def address(self, server: str) -> str:
        return f"127.0.0.1:{self.network.ports[server]}"

    def pair(self, server: str) -> PairedServer:
        return self.manager.pair_server(self.address(server), TOKEN).result(timeout=WAIT_S)


def start_site(
    tmp_path: Path,
    reactor_thread: ReactorThread,
    database: Database,
    servers: int,
    *,
    speed: float = 1.0,
) -> Iterator[Site]:
    """`servers` simulated servers (commands `speed` times faster than the real tools) and a
    started manager on `database`."""
    reactor = reactor_thread.reactor

    def start() -> tuple[SimulatedCluster, SimulatedNetwork]:
        cluster = SimulatedCluster.open(
            tmp_path / "sim", clock=reactor, server_count=servers, seed=3, speed=speed
        )
        network = SimulatedNetwork(
            cluster,
            tmp_path / "sim",
            reactor=reactor,
            software_version="9.9",
            pairing_token=TOKEN,
            report_interval_s=0.2,
        )
        network.start()
        return cluster, network

    cluster, network = reactor_thread.call_and_wait(start)
    secrets = MemorySecretStore()
    manager = Manager(
        database,
        secrets,
        tmp_path / "config",
        reactor_thread,
        link_retry=lambda attempt: 0.1,
    )
    events: queue.Queue[Any] = queue.Queue()
    manager.listeners.append(events.put)
    manager.start()
    yield Site(manager, cluster, network, events, secrets)
    manager.stop()
    reactor_thread.call_and_wait(network.stop)


@pytest.fixture
def site(
    tmp_path: Path, reactor_thread: ReactorThread, sqlite_database: Database
) -> Iterator[Site]:
    """Two simulated servers (an HA pair), nothing paired yet, and a started manager."""
    yield from start_site(tmp_path, reactor_thread, sqlite_database, 2)


@pytest.fixture
def window(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[Any]:
    """The main window attached to the `site`'s manager, as the admin "alice"."""
    from chroma_desktop.bridge import Bridge
    from chroma_desktop.views.base import AppContext
    from chroma_desktop.window import MainWindow

    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = MainWindow(bridge)
    qtbot.addWidget(shown)
    shown.show()
    shown.attach(AppContext(site.manager, bridge, actor="alice"))
    yield shown
    site.manager.listeners.remove(bridge.publish)


def _running_timers() -> list[Any]:
    """Every QTimer Python knows of that is still alive and running."""
    import shiboken6
    from PySide6.QtCore import QTimer

    return [
        o
        for o in gc.get_objects()
        if isinstance(o, QTimer) and shiboken6.isValid(o) and o.isActive()
    ]


@pytest.fixture
def qt_leak_check(qapp: Any) -> Iterator[None]:
    """Fails the test if a top-level window or dialog outlives it, or a timer it started is
    still running once its widgets are closed (a closed screen must stop polling)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    before = set(map(id, QApplication.topLevelWidgets()))
    timers_before = set(map(id, _running_timers()))
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    # The test's closed windows are garbage now: collect them here, on the GUI thread. Left to
    # Python's automatic collection, they could be collected on another thread of a later test,
    # and PySide then deletes their C++ side from inside that test's event loop, which once
    # deadlocked on a Qt mutex (a MainWindow's menus, deleted from a QTimer's slot).
    gc.collect()
    left = [
        w
        for w in QApplication.topLevelWidgets()
        if id(w) not in before and (w.objectName() or w.isVisible())
    ]
    assert not left, f"widgets left open: {[type(w).__name__ for w in left]}"
    running = [t for t in _running_timers() if id(t) not in timers_before]
    owners = [type(t.parent()).__name__ if t.parent() is not None else "nothing" for t in running]
    assert not running, f"timers still running, owned by: {owners}"
