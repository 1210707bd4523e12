"""Two desktops on one PostgreSQL database: one runs the scheduler; when it dies the other
takes over within 10 s and recovers what was running, re-running nothing."""

from __future__ import annotations

import os
import signal
import time

import pytest

from agentlink.commands import AgentCommandRenderer
from core.database import open_database
from core.fakes import FakeAgentGateway, FakeClock
from core.scheduler import Scheduler
from core.scheduler.service import SchedulerService
from tests.children import start_child
from tests.core.cluster import build_small_filesystem
from tests.postgres import ThrowawayPostgres


@pytest.mark.postgresql
def test_a_standby_takes_over_within_ten_seconds(postgres_server: ThrowawayPostgres):
    url = postgres_server.url(postgres_server.create_database())
    database = open_database(url)
    with database.session() as session:
        filesystem_id = build_small_filesystem(session, osts=("ost0",)).id
    child = start_child("tests.core.standby_child", url, str(filesystem_id))
    gateway = FakeAgentGateway()
    standby = SchedulerService(
        database, lambda: Scheduler(database, gateway, AgentCommandRenderer(), FakeClock())
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running", child.stderr.read()
        assert standby.tick() is False
        holder = standby.who_runs_it()
        assert holder is not None and f"pid {child.pid}" in holder
        os.kill(child.pid, signal.SIGKILL)
        killed = time.monotonic()
        while not standby.tick():
            assert time.monotonic() - killed < 10, "no takeover within 10 s"
            time.sleep(0.25)
        took = time.monotonic() - killed
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert took < 10
    assert standby.scheduler is not None
    standby.scheduler.pump()
    assert gateway.requests == [], "nothing re-runs after the takeover"
    assert standby.recheck, "the formats that were running are checked with their agents"
    with database.session() as session:
        from core.models import Job

        states = {job.description: job.state for job in session.query(Job)}
    assert states["Format fs1-OST0000"] == "interrupted"
    assert states["Start fs1"] == "cancelled"
    standby.close()
    database.close()
