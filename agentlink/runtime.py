"""The desktop's one Twisted reactor, running on its own daemon thread.

Layer: agentlink. Thread: `start`, `call` and `call_and_wait` are called from any other thread;
what they run runs on the reactor thread ("chroma-reactor"). The reactor cannot be restarted,
so it starts once per process and stops when the process ends. Other threads hand it work with
`call` (reactor.callFromThread) and get results back through concurrent Futures or queued
signals, never by touching Twisted objects themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from twisted.internet import defer
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads, IReactorTime

T = TypeVar("T")
THREAD_NAME = "chroma-reactor"


class ReactorThread:
    def __init__(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    @property
    def clock(self) -> IReactorTime:
        return cast(IReactorTime, self.reactor)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the reactor thread (once per process) and wait until it runs."""
        if self._thread is not None:
            return
        core = cast(IReactorCore, self.reactor)
        core.callWhenRunning(self._running.set)
        self._thread = threading.Thread(
            target=core.run,
            kwargs={"installSignalHandlers": False},
            name=THREAD_NAME,
            daemon=True,
        )
        self._thread.start()
        if not self._running.wait(timeout_s):
            raise RuntimeError("the Twisted reactor did not start")

    def call(self, work: Callable[[], object]) -> None:
        """Run `work` on the reactor thread, soon."""
        cast(IReactorFromThreads, self.reactor).callFromThread(work)

    def call_and_wait(self, work: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run `work` on the reactor thread and return its result (waiting for a Deferred)."""
        future: Future[T] = Future()

        def run() -> None:
            outcome = defer.maybeDeferred(work)
            outcome.addCallbacks(future.set_result, lambda f: future.set_exception(f.value))

        self.call(run)
        return future.result(timeout=timeout_s)
