"""What every screen of the window shares: the app's context and a view that reloads itself,
off the GUI thread, when the news says its data changed.

Layer: chroma_desktop. Thread: the GUI thread. A `LiveView` says which news makes it stale
(`is_stale_after`), how to read its data in a database session (`fetch`, run on the "chroma-db"
worker, returning frozen records, never ORM rows) and how to show it (`show_data`, on the GUI
thread). Reloads are coalesced: a burst of news during a 4,000-target command costs one read per
`RELOAD_DELAY_MS`, and a hidden view reads nothing until it is shown again.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager
    from core.scheduler import Scheduler

T = TypeVar("T")


@dataclass
class AppContext:
    """What a screen needs: the running manager, the bridge to the GUI thread, who the admin
    is (the actor written on every command and audit record)."""

    manager: Manager
    bridge: Bridge
    actor: str = field(default_factory=getpass.getuser)
    history: History | None = None

    def query(
        self,
        work: Callable[[Session], T],
        on_result: Callable[[T], None],
        *,
        owner: QObject,
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        """Run `work(session)` on the database worker; `on_result` on the GUI thread."""
        self.bridge.deliver(
            self.manager.worker.submit(work), on_result, owner=owner, on_error=on_error
        )

    def schedule(
        self,
        work: Callable[[Scheduler], T],
        on_result: Callable[[T], None],
        *,
        owner: QObject,
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        """Run `work(scheduler)` (plan, request, cancel) on the database worker; `on_result` on
        the GUI thread. Fails clearly when another desktop runs the scheduler."""
        self.bridge.deliver(self.manager.run(work), on_result, owner=owner, on_error=on_error)


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
