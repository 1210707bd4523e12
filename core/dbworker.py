"""Database work off the GUI thread: units of work run one at a time on one worker thread.

Layer: core. Thread: `submit` may be called from any thread; the work runs on the thread named
"chroma-db" and its result (records, never ORM rows) or its error arrives through the returned
Future. One writer at a time also keeps SQLite free of lock contention.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session

from core.database import Database

T = TypeVar("T")

THREAD_NAME = "chroma-db"


class DatabaseWorker:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)

    def submit(
        self,
        work: Callable[[Session], T],
        *,
        actor: str | None = None,
        command_id: int | None = None,
    ) -> Future[T]:
        """Run `work(session)` in its own transaction: committed if it returns, rolled back if
        it raises (the error is the future's exception)."""

        def unit_of_work() -> T:
            with self.database.session(actor=actor, command_id=command_id) as session:
                return work(session)

        return self._executor.submit(unit_of_work)

    def close(self) -> None:
        """Finish queued work, then stop the thread."""
        self._executor.shutdown(wait=True)
