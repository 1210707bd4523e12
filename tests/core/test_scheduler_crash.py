"""Kill the process with SIGKILL at random points of a 500-job command, twenty times: each time
the database is intact, every command and job ends in a defined state, and nothing re-runs."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import time
from pathlib import Path

from sqlalchemy import func, select

from core import inventory
from core.database import open_database
from core.fakes import EchoCommandRenderer, FakeAgentGateway, FakeClock
from core.models import Command, Job, Nid, Step
from core.scheduler import Scheduler
from core.states import LNetState
from tests.children import start_child

OSTS = 122  # 4 jobs for each of 124 targets, 4 servers to set up, 1 filesystem: 501 jobs


def build_big_filesystem(url: str) -> int:
    database = open_database(url)
    with database.session() as session:
        hosts = []
        for number, name in enumerate(["mds1", "mds2", "oss1", "oss2"], start=1):
            host = inventory.add_host(session, f"{name}.lab")
            assert host.lnet is not None
            host.lnet.state = LNetState.UP
            host.lnet.nids.append(Nid(nid_string=f"10.0.0.{number}@tcp0"))
            hosts.append(host)

        def lun(serial: str, first: int, second: int):
            volume = inventory.add_volume(session, serial=serial, size_bytes=1 << 40)
            inventory.add_volume_node(
                session, volume, hosts[first], f"/dev/mapper/{serial}", primary=True
            )
            inventory.add_volume_node(session, volume, hosts[second], f"/dev/mapper/{serial}")
            return volume

        filesystem = inventory.create_filesystem(
            session,
            "big",
            mgt_volume=lun("mgt", 0, 1),
            mdt_volumes=[lun("mdt", 1, 0)],
            ost_volumes=[lun(f"ost{i}", 2 + i % 2, 3 - i % 2) for i in range(OSTS)],
        )
        filesystem_id = filesystem.id
    database.close()
    return filesystem_id


def test_sigkill_at_random_points_leaves_a_defined_database(tmp_path: Path):
    template = tmp_path / "template.db"
    filesystem_id = build_big_filesystem(f"sqlite:///{template}")
    rng = random.Random(20261126)
    outcomes = []
    for attempt in range(20):
        path = tmp_path / f"run{attempt}.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        child = start_child("tests.core.crash_child", url, str(filesystem_id))
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "planned", child.stderr.read()
            time.sleep(rng.uniform(0.0, 1.5))
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.communicate(timeout=30)  # reaps it and closes its pipes

        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        database = open_database(url)
        try:
            with database.session() as session:
                done_before = session.scalar(
                    select(func.count()).select_from(Job).where(Job.state == "succeeded")
                )
            gateway = FakeAgentGateway()
            scheduler = Scheduler(database, gateway, EchoCommandRenderer(), FakeClock())
            scheduler.start()
            scheduler.pump()
            assert gateway.requests == [], "nothing re-runs after a restart"
            with database.session() as session:
                states = dict(
                    session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
                )
                assert set(states) <= {"succeeded", "interrupted", "cancelled"}, states
                assert sum(states.values()) == 501
                assert states.get("succeeded", 0) == done_before
                assert (
                    session.scalar(
                        select(func.count())
                        .select_from(Command)
                        .where(Command.state.in_(["pending", "running"]))
                    )
                    == 0
                )
                assert (
                    session.scalar(
                        select(func.count())
                        .select_from(Step)
                        .where(Step.state.in_(["pending", "running"]))
                    )
                    == 0
                )
            outcomes.append(states)
        finally:
            database.close()
    finished = [o for o in outcomes if o.get("succeeded", 0) == 501]
    assert len(finished) < len(outcomes), "some kills must land mid-command"
