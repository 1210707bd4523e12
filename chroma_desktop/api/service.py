"""The manager with its API, without a window: what `chroma-desktop --headless` runs until it is
stopped, and what the `chroma` CLI runs in its own process for the duration of one command when
no manager is running.

Layer: chroma_desktop.api (no Qt). Threads: `LocalManager` is started and stopped by its
caller's thread; the links and the HTTPS server run on the reactor thread, the scheduler and
the history stores on their own threads (see manager.py, history.py). `ApiService` serves an
already started manager (the window's, too) and announces it in the data directory
(discovery.py) until it stops.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from chroma_desktop.api.credentials import load_or_create_server_credentials
from chroma_desktop.api.discovery import RunningManager, announce, withdraw
from chroma_desktop.api.server import ApiServer
from core.paths import AppPaths, app_paths
from core.ports import SecretStore

if TYPE_CHECKING:
    from agentlink.runtime import ReactorThread
    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager
    from core.database import Database


class ApiService:
    """The API of a started manager, served and announced until `stop`."""

    def __init__(
        self,
        manager: Manager,
        secrets: SecretStore,
        paths: AppPaths,
        *,
        headless: bool,
        history: History | None = None,
    ) -> None:
        self.manager = manager
        self.history = history
        self.secrets = secrets
        self.paths = paths
        self.headless = headless
        self.server: ApiServer | None = None
        self.running: RunningManager | None = None

    def start(self, port: int = 0) -> RunningManager:
        credentials = load_or_create_server_credentials(self.secrets, self.paths.config_dir)
        self.server = ApiServer(self.manager, credentials, self.history)
        bound = self.server.start(port)
        self.running = announce(
            self.paths.data_dir, bound, credentials.fingerprint, headless=self.headless
        )
        return self.running

    def stop(self) -> None:
        withdraw(self.paths.data_dir)
        if self.server is not None:
            self.server.stop()
            self.server = None


@dataclass
class LocalManager:
    """A manager, its history stores and its API, opened on this CHROMA_HOME."""

    database: Database
    manager: Manager
    history: History
    api: ApiService

    @classmethod
    def open(
        cls,
        *,
        headless: bool,
        secrets: SecretStore | None = None,
        reactor_thread: ReactorThread | None = None,
        port: int = 0,
    ) -> LocalManager:
        from agentlink.runtime import ReactorThread
        from agentlink.secrets import KeyringSecretStore
        from chroma_desktop.history import History
        from chroma_desktop.manager import Manager
        from core.database import open_database

        paths = app_paths().ensure()
        store = secrets or KeyringSecretStore()
        database = open_database()
        manager = Manager(database, store, paths.config_dir, reactor_thread or ReactorThread())
        history = History(Path(paths.data_dir))
        history.attach(manager)
        try:
            manager.start()
        except BaseException:
            history.close()
            database.close()
            raise
        api = ApiService(manager, store, paths, headless=headless, history=history)
        try:
            api.start(port)
        except BaseException:
            manager.stop()
            history.close()
            database.close()
            raise
        return cls(database, manager, history, api)

    def close(self) -> None:
        """Stop serving, then the manager, the stores and the database, in that order."""
        self.api.stop()
        self.manager.stop()
        self.history.close()
        self.database.close()


def run_headless(out: Callable[[str], None] = print) -> int:
    """`chroma-desktop --headless`: serve until SIGINT or SIGTERM."""
    stopping = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {
        number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)
    }
    local = LocalManager.open(headless=True)
    try:
        running = local.api.running
        assert running is not None
        out(f"Chroma Desktop is running headless (process {running.pid}).")
        out(f"API: {running.url} (certificate {running.fingerprint})")
        out("Use `chroma` to administer it; Ctrl+C or SIGTERM stops it.")
        while not stopping.wait(3600):
            pass
        out("Stopping …")
    finally:
        local.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0
