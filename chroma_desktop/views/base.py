"""What every screen of the window shares: the app's context and a view that reloads itself,
off the GUI thread, when the news says its data changed.

Layer: chroma_desktop. Thread: the GUI thread. A `LiveView` says which news makes it stale
(`is_stale_after`), how to read its data in a database session (`fetch`, run on the "chroma-db"
worker, returning frozen records, never ORM rows) and how to show it (`show_data`, on the GUI
thread). An offline archive is shown by the same views through an `AppContext` with no manager
(`AppContext.offline`): queries go to the archive's read-only database on a worker of its own,
and what would change something is hidden (`hide_when_read_only`) or refused. Reloads are
coalesced: a burst of news during a 4,000-target command costs one read per
`RELOAD_DELAY_MS`, and a hidden view reads nothing until it is shown again.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure
from core.errors import ReadOnlyDatabaseError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from agentlink.discovery import Browse
    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager
    from core.dbworker import DatabaseWorker
    from core.scheduler import Scheduler
    from stats.archive import OpenedArchive

T = TypeVar("T")


class AppContext:
    """What a screen needs: the running manager, the bridge to the GUI thread, who the admin
    is (the actor written on every command and audit record). An offline archive has no
    manager (`offline`): `worker` reads its database, `archive` says which it is, and asking
    for `manager` raises a `ReadOnlyDatabaseError`."""

    def __init__(
        self,
        manager: Manager | None,
        bridge: Bridge,
        actor: str | None = None,
        history: History | None = None,
        *,
        worker: DatabaseWorker | None = None,
        archive: OpenedArchive | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._manager = manager
        self.bridge = bridge
        self.actor = actor if actor is not None else getpass.getuser()
        self.history = history
        self.worker = worker
        self.archive = archive
        self.clock = clock
        """What "now" is for charts: the archive's end for an archive."""
        self.browse: Browse | None = None
        """How to look for agents on the network (zeroconf), or None: discovery is off (an
        archive, tests without a network namespace of their own)."""

    @classmethod
    def offline(
        cls, archive: OpenedArchive, bridge: Bridge, worker: DatabaseWorker, history: History
    ) -> AppContext:
        """The context of a window on an opened archive: read-only, no manager, no agents."""
        end = archive.manifest.end.timestamp()
        return cls(None, bridge, history=history, worker=worker, archive=archive, clock=lambda: end)

    @property
    def read_only(self) -> bool:
        return self._manager is None

    @property
    def manager(self) -> Manager:
        """The running manager; an offline archive has none (what needs it is hidden)."""
        if self._manager is None:
            raise self._read_only_error()
        return self._manager

    def _read_only_error(self) -> ReadOnlyDatabaseError:
        what = self.archive.describe() if self.archive is not None else "This window"
        return ReadOnlyDatabaseError(
            f"{what}: nothing can be changed here.",
            hint="Open the live site to make changes.",
        )

    def query(
        self,
        work: Callable[[Session], T],
        on_result: Callable[[T], None],
        *,
        owner: QObject,
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        """Run `work(session)` on the database worker; `on_result` on the GUI thread."""
        worker = self._manager.worker if self._manager is not None else self.worker
        assert worker is not None, "an offline context reads through its own worker"
        self.bridge.deliver(worker.submit(work), on_result, owner=owner, on_error=on_error)

    def schedule(
        self,
        work: Callable[[Scheduler], T],
        on_result: Callable[[T], None],
        *,
        owner: QObject,
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        """Run `work(scheduler)` (plan, request, cancel) on the database worker; `on_result` on
        the GUI thread. Fails clearly when another desktop runs the scheduler, or when this is
        an offline archive."""
        if self._manager is None:
            refused: Future[T] = Future()
            refused.set_exception(self._read_only_error())
            self.bridge.deliver(refused, on_result, owner=owner, on_error=on_error)
            return
        self.bridge.deliver(self.manager.run(work), on_result, owner=owner, on_error=on_error)


def hide_when_read_only(context: AppContext, *widgets: QWidget) -> None:
    """Hide (and disable) what changes something when the window shows an offline archive."""
    if context.read_only:
        for widget in widgets:
            widget.setEnabled(False)
            widget.setVisible(False)


class LiveView(QWidget):
    title: ClassVar[str] = ""
    """The name in the navigation list."""
    RELOAD_DELAY_MS: ClassVar[int] = 250

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._stale = True
        self._loading = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(self.RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self._reload_now)
        context.bridge.subscribe(self, self._on_event)

    # --- what a view defines --------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        """True when `event` (from the manager) may change what this view shows."""
        return False

    def fetch(self, session: Session) -> Any:
        """Database worker: read what the view shows, as frozen records."""
        raise NotImplementedError

    def show_data(self, data: Any) -> None:
        """GUI thread: show what `fetch` read."""
        raise NotImplementedError

    # --- reloading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the data again soon (now, if nothing is pending), if the view is visible."""
        self._stale = True
        if self.isVisible() and not self._reload_timer.isActive() and not self._loading:
            self._reload_timer.start()

    @property
    def loading(self) -> bool:
        return self._loading or self._reload_timer.isActive()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale and not self._loading:
            self._reload_timer.start(0)

    def _on_event(self, event: object) -> None:
        if self.is_stale_after(event):
            self.refresh()

    def load(self, on_result: Callable[[Any], None], on_error: Callable[[Failure], None]) -> None:
        """Start reading the view's data off the GUI thread: `fetch` on the database worker. A
        view whose data lives elsewhere (the history stores) starts its own read instead."""
        self.context.query(self.fetch, on_result, owner=self, on_error=on_error)

    def _reload_now(self) -> None:
        self._reload_timer.setInterval(self.RELOAD_DELAY_MS)
        self._stale, self._loading = False, True
        self.load(self._loaded, self._load_failed)

    def _loaded(self, data: Any) -> None:
        self._loading = False
        self.show_data(data)
        if self._stale:
            self.refresh()

    def _load_failed(self, failure: Failure) -> None:
        self._loading = False
        self.context.bridge.failed.emit(failure)
