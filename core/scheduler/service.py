"""Exactly one scheduler per database: the process holding the lease runs it, others stand by.

Layer: core. Thread: the database worker's; the host calls `tick()` every LEASE_RETRY_S. On
PostgreSQL several desktops may share one database; each runs a SchedulerService. The one that
gets the lease recovers what a previous holder left (see Scheduler.start) and runs the jobs;
the others submit nothing to agents and take over within seconds when the holder dies.
"""

from __future__ import annotations

from collections.abc import Callable

from core.database import Database
from core.leadership import LEASE_RETRY_S, SchedulerLease
from core.scheduler.scheduler import Scheduler
from core.scheduler.world import Ref

__all__ = ["LEASE_RETRY_S", "SchedulerService"]


class SchedulerService:
    def __init__(self, database: Database, make_scheduler: Callable[[], Scheduler]) -> None:
        self.lease = SchedulerLease(database)
        self._make_scheduler = make_scheduler
        self.scheduler: Scheduler | None = None
        self.recheck: list[Ref] = []
        """Objects whose real state must be read from their agents after a takeover."""

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def tick(self) -> bool:
        """Take the lease if it is free, or check it is still ours; True while this process
        runs the scheduler."""
        if self.scheduler is not None:
            if self.lease.still_held():
                return True
            self.scheduler = None  # another process may run it now: stop acting at once
            return False
        if not self.lease.try_acquire():
            return False
        scheduler = self._make_scheduler()
        self.recheck = scheduler.start()
        self.scheduler = scheduler
        return True

    def who_runs_it(self) -> str | None:
        """For a standby's status line: which process runs the scheduler."""
        return None if self.active else self.lease.holder_description()

    def close(self) -> None:
        self.scheduler = None
        self.lease.release()
