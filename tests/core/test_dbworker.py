"""Database work runs off the calling thread, one unit at a time, committed or rolled back."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core import inventory
from core.database import Database
from core.dbworker import THREAD_NAME, DatabaseWorker
from core.errors import ConflictError
from core.models import Host
from core.records import HostRecord, host_record


def test_work_runs_on_the_database_thread_and_returns_records(database: Database):
    worker = DatabaseWorker(database)
    try:
        caller = threading.current_thread().name

        def add(session) -> tuple[str, HostRecord]:
            return threading.current_thread().name, host_record(
                inventory.add_host(session, "oss1.lab")
            )

        thread, record = worker.submit(add, actor="alice").result(timeout=30)
        assert thread.startswith(THREAD_NAME) and thread != caller
        assert record.address == "oss1.lab"
    finally:
        worker.close()


def test_a_failed_unit_of_work_changes_nothing(database: Database):
    worker = DatabaseWorker(database)
    try:
        worker.submit(lambda s: inventory.add_host(s, "oss1.lab").id).result(timeout=30)

        def add_two(session) -> None:
            inventory.add_host(session, "oss2.lab")
            inventory.add_host(session, "oss1.lab")  # refused: already managed

        with pytest.raises(ConflictError, match="already managed"):
            worker.submit(add_two).result(timeout=30)
        count = worker.submit(lambda s: s.scalar(select(func.count()).select_from(Host)))
        assert count.result(timeout=30) == 1
    finally:
        worker.close()
