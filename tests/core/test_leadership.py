"""Exactly one scheduler per database: the lease is exclusive across Database objects and across
processes, and a standby takes it over within 10 s of the holder's death."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from core.database import Database, open_database
from core.leadership import SchedulerLease
from tests.postgres import ThrowawayPostgres

REPO = Path(__file__).resolve().parents[2]
TAKEOVER_LIMIT_S = 10.0
RETRY_S = 0.2

HOLDER = """
import sys
from core.database import open_database
from core.leadership import SchedulerLease

lease = SchedulerLease(open_database(sys.argv[1]))
print("held" if lease.try_acquire() else "not held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def open_lease(database_url: str) -> Iterator[Callable[[], SchedulerLease]]:
    """Leases on separate Database objects for the same database, as separate desktops have."""
    opened: list[tuple[Database, SchedulerLease]] = []

    def open_lease() -> SchedulerLease:
        database = open_database(database_url)
        lease = SchedulerLease(database)
        opened.append((database, lease))
        return lease

    yield open_lease
    for database, lease in opened:
        lease.release()
        database.close()


def test_one_lease_holds_and_a_release_hands_it_over(
    open_lease: Callable[[], SchedulerLease],
) -> None:
    first, second = open_lease(), open_lease()

    assert first.try_acquire()
    assert first.try_acquire(), "acquiring a lease already held is idempotent"
    assert first.held and first.still_held()
    assert not second.try_acquire()
    assert not second.held

    description = second.holder_description()
    assert description is not None
    assert f"on host {socket.gethostname()} (pid {os.getpid()})" in description

    first.release()
    first.release()
    assert not first.held
    assert second.try_acquire()
    assert not first.try_acquire()


def read_line(child: subprocess.Popen[bytes], timeout_s: float) -> str:
    """The child's first line of output, waiting at most `timeout_s`."""
    assert child.stdout is not None
    fd = child.stdout.fileno()
    deadline = time.monotonic() + timeout_s
    output = b""
    while b"\n" not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"the child said nothing within {timeout_s} s (output so far {output!r})")
        if select.select([fd], [], [], remaining)[0]:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            output += chunk
    return output.decode().strip()


def test_a_standby_takes_over_within_10_s_of_the_holder_being_killed(
    open_lease: Callable[[], SchedulerLease], database_url: str, backend: str
) -> None:
    standby = open_lease()  # also brings the schema up to date before the child opens it
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as child:
        try:
            said = read_line(child, timeout_s=60)
            if said != "held":
                child.kill()
                _, errors = child.communicate(timeout=10)
                pytest.fail(f"the child did not take the lease: {said!r} {errors.decode()}")

            assert not standby.try_acquire()
            description = standby.holder_description()
            assert description is not None
            assert f"(pid {child.pid})" in description

            child.kill()  # SIGKILL: no chance to release anything
            killed = time.monotonic()
            acquired = standby.try_acquire()
            while not acquired and time.monotonic() - killed < TAKEOVER_LIMIT_S:
                time.sleep(RETRY_S)
                acquired = standby.try_acquire()
            takeover_s = time.monotonic() - killed
            print(f"{backend}: took over {takeover_s:.3f} s after SIGKILL")
            assert acquired, f"{backend}: no takeover within {takeover_s:.3f} s of SIGKILL"
            assert takeover_s < TAKEOVER_LIMIT_S, f"{backend}: took over after {takeover_s:.3f} s"
            assert standby.still_held()
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)


def lease_holder_pids(engine: Engine) -> list[int]:
    """Backend pids holding an advisory lock in this database, seen from another connection."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database"
                    " = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalars()
        )


@pytest.mark.postgresql
def test_a_lease_whose_session_is_terminated_is_lost_and_can_be_taken_again(
    postgres_server: ThrowawayPostgres,
) -> None:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    database = open_database(url)
    lease = SchedulerLease(database)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        assert lease.try_acquire()
        assert lease.still_held()
        [holder] = lease_holder_pids(admin)
        with admin.connect() as connection:
            # With a timeout, pg_terminate_backend returns once the session has ended.
            ended = connection.execute(
                text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": holder}
            ).scalar_one()
        assert ended
        assert lease_holder_pids(admin) == []

        assert not lease.still_held()
        assert not lease.held

        assert lease.try_acquire()
        [new_holder] = lease_holder_pids(admin)
        assert new_holder != holder
        assert lease.still_held()
    finally:
        lease.release()
        database.close()
        admin.dispose()
        postgres_server.drop_database(name)
