"""Small combinators of concurrent Futures: the API's requests are chains of work on different
threads (the database worker, the history thread, the reactor), each step a Future.

Layer: chroma_desktop.api (no Qt, no Twisted). Thread: any; a chained step runs on the thread
that completes the Future before it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
U = TypeVar("U")


def done(value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


def failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


def chain(future: Future[T], work: Callable[[T], Future[U]]) -> Future[U]:
    """The future of `work(result)`, started when `future` succeeds; its failure, or the
    exception `work` raises, fails the chain."""
    chained: Future[U] = Future()

    def next_step(finished: Future[T]) -> None:
        error = finished.exception()
        if error is not None:
            chained.set_exception(error)
            return
        try:
            following = work(finished.result())
        except BaseException as failure:
            chained.set_exception(failure)
            return
        following.add_done_callback(lambda last: _copy(last, chained))

    future.add_done_callback(next_step)
    return chained


def mapped(future: Future[T], work: Callable[[T], U]) -> Future[U]:
    return chain(future, lambda value: done(work(value)))


def _copy(source: Future[T], target: Future[T]) -> None:
    error = source.exception()
    if error is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
