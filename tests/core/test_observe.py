"""The model corrected from what the agents report: after a crash, a lost link or a change by
hand on a server, states follow the servers, never an assumption; a running job keeps its
object until it ends."""

from __future__ import annotations

from sqlalchemy import select

from core.database import Database
from core.fakes import ScriptedReply
from core.models import TargetMount, VolumeNode
from core.scheduler import LustreReport, ObjectChanged
from tests.core.scheduler_harness import Harness, make_harness


def device(h: Harness, target: str, host: str) -> str:
    with h.database.session() as session:
        return str(
            session.scalar(
                select(VolumeNode.path)
                .join(TargetMount, TargetMount.volume_node_id == VolumeNode.id)
                .where(
                    TargetMount.target_id == h.targets[target],
                    TargetMount.host_id == h.hosts[host],
                )
            )
        )


def report(lnet: str = "up", *devices: str) -> LustreReport:
    return LustreReport(lnet=lnet, mounted_devices=frozenset(devices))


def test_a_server_that_rebooted_reports_its_targets_stopped_and_the_filesystem_follows(
    database: Database,
):
    h = make_harness(database, running=True)
    assert h.active_host("fs1-OST0001") == "oss2"
    changed = h.scheduler.observe("oss2.lab", report("unloaded"))
    assert h.target("fs1-OST0001") in changed
    assert h.state(h.target("fs1-OST0001")) == "unmounted"
    assert h.active_host("fs1-OST0001") is None
    assert h.state(h.lnet("oss2")) == "unloaded"
    assert h.state(h.fs) == "unavailable"
    assert h.state(h.target("fs1-OST0000")) == "mounted", "oss1's target is not oss2's to report"
    assert ObjectChanged(h.target("fs1-OST0001"), "unmounted") in h.events


def test_a_target_found_running_on_its_failover_server_is_recorded_there(database: Database):
    h = make_harness(database, running=True)
    h.scheduler.observe("oss2.lab", report("up"))
    h.scheduler.observe(
        "oss1.lab", report("up", device(h, "fs1-OST0000", "oss1"), device(h, "fs1-OST0001", "oss1"))
    )
    assert h.state(h.target("fs1-OST0001")) == "mounted"
    assert h.active_host("fs1-OST0001") == "oss1"
    assert h.state(h.fs) == "available"
    assert (
        h.scheduler.observe(
            "oss1.lab",
            report("up", device(h, "fs1-OST0000", "oss1"), device(h, "fs1-OST0001", "oss1")),
        )
        == []
    )


def test_an_object_a_job_is_changing_is_left_to_the_job(database: Database):
    h = make_harness(database, running=True)
    h.gateway.script("unmount_target", ScriptedReply(hold=True))
    h.scheduler.request_state(h.target("fs1-OST0001"), "unmounted", actor="a", confirmed=True)
    assert h.scheduler.observe("oss2.lab", report("up")) == []
    assert h.state(h.target("fs1-OST0001")) == "mounted"


def test_reports_from_unknown_servers_change_nothing(database: Database):
    h = make_harness(database, running=True)
    assert h.scheduler.observe("stranger.lab", report("unloaded")) == []
    assert h.state(h.fs) == "available"


def test_after_a_desktop_crash_the_agents_say_what_really_happened(database: Database):
    from core.fakes import FakeAgentGateway
    from core.scheduler import Scheduler

    h = make_harness(database, running=True)
    h.scheduler.request_state(h.fs, "stopped", actor="alice", confirmed=True)
    assert h.state(h.fs) == "stopped"
    h.gateway.script("mount_target", ScriptedReply(hold=True))
    h.scheduler.request_state(h.target("fs1-MDT0000"), "mounted", actor="alice")
    # The desktop dies while the server mounts the MDT; a new scheduler starts on the database.
    restarted = Scheduler(database, FakeAgentGateway(), h.scheduler.renderer, h.scheduler.clock)
    assert restarted.start() == [h.target("fs1-MDT0000")]
    assert h.state(h.target("fs1-MDT0000")) == "unmounted", "not assumed"
    restarted.observe("mds1.lab", report("up", device(h, "fs1-MDT0000", "mds1")))
    assert h.state(h.target("fs1-MDT0000")) == "mounted"
    assert h.active_host("fs1-MDT0000") == "mds1"


def test_a_report_taken_before_a_job_ended_does_not_undo_it_but_a_newer_one_wins(
    database: Database,
):
    # The race seen once in ~22 end-to-end runs: the agent reported the MGS unmounted while it
    # mounted; the report was handled only after the mount's answer had ended "Start MGS", and
    # rolled the MGS back, so "Register MDT0000" found it unmounted and was cancelled.
    from core.fakes import FakeClock

    h = make_harness(database, running=True)
    clock = h.scheduler.clock
    assert isinstance(clock, FakeClock)
    mgs = h.target("MGS")
    mgs_device = device(h, "MGS", "mds1")
    h.scheduler.request_state(mgs, "unmounted", actor="alice", confirmed=True)
    h.gateway.script("mount_target", ScriptedReply(hold=True))
    h.scheduler.request_state(mgs, "mounted", actor="alice")
    clock.advance(1)
    received_while_mounting = LustreReport("up", frozenset(), received_at=clock.now())
    clock.advance(1)
    (mount,) = h.gateway.running
    h.gateway.finish(mount.action_id)
    h.scheduler.pump()
    assert h.state(mgs) == "mounted"

    assert h.scheduler.observe("mds1.lab", received_while_mounting) == []
    assert h.state(mgs) == "mounted", "the job's outcome is newer than the report"
    assert h.active_host("MGS") == "mds1"
    # Still mounted, as a report received after the answer says: nothing to correct.
    clock.advance(1)
    still = LustreReport("up", frozenset({mgs_device}), received_at=clock.now())
    assert h.scheduler.observe("mds1.lab", still) == []
    # The MGS stops later (a crash, a hand-made umount): a newer report is believed.
    clock.advance(1)
    stopped = LustreReport("up", frozenset(), received_at=clock.now())
    assert mgs in h.scheduler.observe("mds1.lab", stopped)
    assert h.state(mgs) == "unmounted"
    assert h.active_host("MGS") is None
