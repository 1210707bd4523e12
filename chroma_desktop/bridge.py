"""The one way results reach the window: queued Qt signals from other threads to the GUI thread.

Layer: chroma_desktop. Threads: `publish` and the done-callbacks of `deliver` run on whichever
thread produced the news (the reactor thread, the "chroma-db" worker); the signals they emit are
received on the GUI thread, because the bridge lives there and a signal emitted from another
thread is queued. Nothing on the GUI thread ever waits for a Future.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from chroma_desktop.failures import Failure, describe_failure

if TYPE_CHECKING:
    from agentlink.connector import LinkEvent

log = logging.getLogger(__name__)

SLICE_S = 0.008
"""The longest the GUI thread spends handing on news before it lets the event loop run."""


@cache
def _link_event_type() -> type[LinkEvent]:
    from agentlink.connector import LinkEvent  # Twisted loads after the first paint

    return LinkEvent


@dataclass(frozen=True)
class _Delivery:
    future: Future[Any]
    owner: QObject | None
    on_result: Callable[[Any], None]
    on_error: Callable[[Failure], None] | None


class Bridge(QObject):
    failed = Signal(object)
    """A `Failure` nobody handled: the window shows it (message, hint, where the log is)."""
    command_started = Signal(int)
    """The admin started a command from some screen (its id): the window follows it."""
    _done = Signal(object)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.links: dict[str, LinkEvent] = {}
        """The latest link event of each server, by its address (kept before views hear it)."""
        self._inbox: deque[object] = deque()
        self._awake = False
        self._subscribers: list[tuple[QObject | None, Callable[[object], None]]] = []
        self.subscribe(None, self._remember_link)
        self._done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def _remember_link(self, event: object) -> None:
        if isinstance(event, _link_event_type()):
            self.links[event.host] = event

    def subscribe(self, owner: QObject | None, listener: Callable[[object], None]) -> None:
        """Hear every piece of news on the GUI thread, until `owner` is deleted. Listeners are
        called directly, not through a Qt signal: during a flood of news, every signal-to-slot
        call would hand Python's GIL back and forth with the busy worker thread."""
        self._subscribers.append((owner, listener))

    def announce(self, event: object) -> None:
        """GUI thread: hand `event` to every listener now."""
        gone = False
        for owner, listener in self._subscribers:
            if owner is not None and not shiboken6.isValid(owner):
                gone = True
                continue
            listener(event)
        if gone:
            self._subscribers = [
                (owner, listener)
                for owner, listener in self._subscribers
                if owner is None or shiboken6.isValid(owner)
            ]

    def publish(self, event: object) -> None:
        """Any thread: hand one piece of news to the GUI thread (a manager listener). News is
        queued here and handed on in slices of at most `SLICE_S`, so a flood of it (a command of
        thousands of jobs) never keeps the event loop from painting and taking input."""
        self._inbox.append(event)
        if not self._awake:
            self._awake = True
            self._wake.emit()

    def _drain(self) -> None:
        deadline = time.perf_counter() + SLICE_S
        inbox = self._inbox
        while True:
            while inbox:
                self.announce(inbox.popleft())
                if time.perf_counter() > deadline and inbox:
                    QTimer.singleShot(0, self._drain)  # the rest after the loop has run
                    return
            self._awake = False
            if not inbox:  # nothing arrived between the last pop and going to sleep
                return
            self._awake = True

    def deliver(
        self,
        future: Future[Any],
        on_result: Callable[[Any], None],
        *,
        owner: QObject | None = None,
        on_error: Callable[[Failure], None] | None = None,
    ) -> None:
        """Call `on_result(value)` on the GUI thread once `future` is done, or `on_error` with
        what went wrong (by default the window shows it). Dropped when `owner` was deleted in
        the meantime: a closed dialog never hears of its late answer."""
        delivery = _Delivery(future, owner, on_result, on_error)
        future.add_done_callback(lambda _: self._done.emit(delivery))

    def report(self, error: BaseException) -> None:
        """GUI thread: show an error nobody else handles."""
        self.failed.emit(describe_failure("chroma-desktop", error))

    def _deliver(self, delivery: _Delivery) -> None:
        if delivery.owner is not None and not shiboken6.isValid(delivery.owner):
            return
        error = delivery.future.exception()
        if error is None:
            delivery.on_result(delivery.future.result())
        elif delivery.on_error is not None:
            delivery.on_error(describe_failure("chroma-desktop", error))
        else:
            self.report(error)
