"""The windowed program: the window painted first, then the database, the links and the scheduler
started off the GUI thread and attached to it.

Layer: chroma_desktop. Threads: the GUI thread runs Qt's event loop; `DesktopSession.start`
opens the database, the history stores (`History`, on their own "chroma-history" thread, fed
by the agents' reports) and starts the manager on a short-lived "chroma-start" thread, and the
result reaches the window through the bridge. With `demo`, the eight-server simulator runs on
the reactor thread and a "chroma-demo" thread pairs its servers and creates demofs through the
real scheduler, its progress shown in the status bar and its command in Commands.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure, describe_failure
from chroma_desktop.logfile import start_log_file
from chroma_desktop.qtapp import QuitOnSignals, qt_application
from chroma_desktop.window import MainWindow
from core.paths import app_paths

if TYPE_CHECKING:  # loaded on the "chroma-start" thread, after the window's first paint
    from agentlink.runtime import ReactorThread
    from agentlink.simulator.cluster import SimulatedCluster
    from agentlink.simulator.network import SimulatedNetwork
    from chroma_desktop.api.service import ApiService
    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager
    from core.database import Database


FULL_COLLECTION_EVERY = 10_000
"""Middle-generation collections between two automatic full ones (Python's default is 10): a
full collection scans everything made since start-up, the scheduler's model of thousands of
targets included, with the GIL held; young collections still run as often as before."""


def freeze_startup_objects() -> None:
    """Once everything has started: take the objects alive now (modules, the ORM's mappers, the
    scheduler's model, Qt's wrappers) out of the garbage collector's sight. Otherwise every full
    collection, on whichever thread triggers it, scans them all with the GIL held: 90-120 ms
    during a 500-target command, a visible freeze of the window (bench/gui.py, max_stall_ms)."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@dataclass(frozen=True)
class DemoProgress:
    """A line of the demo's progress, for the status bar."""

    text: str


@dataclass
class _Running:
    database: Database
    manager: Manager
    history: History
    reactor_thread: ReactorThread
    simulator: tuple[SimulatedCluster, SimulatedNetwork] | None
    api: ApiService | None = None


class DesktopSession:
    """What runs behind one window: started after its first paint, stopped when it closes."""

    def __init__(
        self, bridge: Bridge, *, demo: bool, reactor_thread: ReactorThread | None = None
    ) -> None:
        self.bridge = bridge
        self.demo = demo
        self.running: _Running | None = None
        self._reactor_thread = reactor_thread
        """The process's reactor thread when one runs already (tests); made at start if not."""

    def start(self, window: MainWindow) -> None:
        started: Future[_Running] = Future()

        def on_thread() -> None:
            try:
                started.set_result(self._start())
            except BaseException as error:  # shown in the window, never lost
                started.set_exception(error)

        def attach(running: _Running) -> None:
            from agentlink.discovery import browse_workstation
            from chroma_desktop.views.base import AppContext

            self.running = running
            context = AppContext(running.manager, self.bridge, history=running.history)
            context.browse = browse_workstation
            window.attach(context)
            freeze_startup_objects()
            if running.simulator is not None:
                self._populate(running)

        def failed(failure: Failure) -> None:
            window.set_status("Not started")
            self.bridge.failed.emit(failure)

        self.bridge.deliver(started, attach, owner=window, on_error=failed)
        threading.Thread(target=on_thread, name="chroma-start", daemon=True).start()

    def _start(self) -> _Running:
        from agentlink.runtime import ReactorThread
        from agentlink.secrets import KeyringSecretStore
        from chroma_desktop.demo import start_demo_cluster
        from chroma_desktop.history import History
        from chroma_desktop.manager import Manager
        from chroma_desktop.settings import load_settings
        from chroma_desktop.views import view_class
        from core.database import open_database
        from core.fakes import MemorySecretStore

        view_class("Dashboard")  # the first screen's code loads here, not on the GUI thread
        paths = app_paths().ensure()
        settings = load_settings(paths.config_dir)
        if settings.problem is not None:
            self.bridge.failed.emit(describe_failure("chroma-desktop", settings.problem))
        database = open_database()
        reactor_thread = self._reactor_thread or ReactorThread()
        secrets = MemorySecretStore() if self.demo else KeyringSecretStore()
        manager = Manager(database, secrets, paths.config_dir, reactor_thread)
        manager.listeners.append(self.bridge.publish)
        bridge = self.bridge
        history = History(
            Path(paths.data_dir),
            on_error=lambda error: bridge.failed.emit(describe_failure("chroma-desktop", error)),
            budgets=settings.settings.budgets,
            settings_dir=paths.config_dir,
        )
        history.attach(manager)
        simulator = None
        if self.demo:
            reactor_thread.start()
            simulator = start_demo_cluster(reactor_thread, Path(paths.data_dir) / "simulator")
        try:
            manager.start()
        except BaseException:
            history.close()
            raise
        running = _Running(database, manager, history, reactor_thread, simulator)
        if not self.demo:  # the demo's keys live in memory: `chroma` could not read its token
            running.api = self._serve_api(running, secrets, paths)
        return running

    def _serve_api(self, running: _Running, secrets: Any, paths: Any) -> ApiService | None:
        """The local REST API of this window's manager, for `chroma` and scripts; the window
        works on without it (and says why) when it cannot be served."""
        from chroma_desktop.api.service import ApiService

        api = ApiService(running.manager, secrets, paths, headless=False, history=running.history)
        try:
            api.start()
        except Exception as error:
            self.bridge.failed.emit(describe_failure("chroma-desktop", error))
            return None
        return api

    def _populate(self, running: _Running) -> None:
        from chroma_desktop.demo import populate_demo

        assert running.simulator is not None
        cluster, network = running.simulator

        def on_thread() -> None:
            try:
                populate_demo(
                    running.manager,
                    cluster,
                    network,
                    out=lambda line: self.bridge.publish(DemoProgress(line.strip())),
                )
            except Exception as error:  # the demo stopped: say where, keep the window
                self.bridge.publish(DemoProgress(f"The demo stopped: {error}"))

        threading.Thread(target=on_thread, name="chroma-demo", daemon=True).start()

    def stop(self) -> None:
        running, self.running = self.running, None
        if running is None:
            return
        if running.api is not None:
            running.api.stop()
        running.manager.stop()
        running.history.close()
        if running.simulator is not None:
            network = running.simulator[1]
            running.reactor_thread.call_and_wait(network.stop)
        running.database.close()


def run_gui(*, demo: bool) -> int:
    """Open the window (on the demo cluster with `demo`) and run until it closes."""
    app = qt_application()
    start_log_file("chroma-desktop")
    bridge = Bridge()
    window = MainWindow(bridge, subtitle="demo cluster (simulated)" if demo else None)
    bridge.subscribe(
        window,
        lambda event: window.set_status(event.text) if isinstance(event, DemoProgress) else None,
    )
    session = DesktopSession(bridge, demo=demo)
    window.show()
    QTimer.singleShot(0, lambda: session.start(window))
    quit_on_signals = QuitOnSignals(app)
    try:
        return app.exec()
    finally:
        quit_on_signals.uninstall()
        session.stop()
