"""Filesystems found running on managed servers that Chroma Desktop did not set up are imported
as monitor-only objects from the agents' reports; what the model already says is never
rewritten from a report, and what an admin removed from the manager stays removed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.database import Database
from core.errors import ConflictError
from core.models import Event, Filesystem, Target
from core.scheduler import FILESYSTEM, LNET, TARGET, LustreReport, ReportedMount
from tests.core.scheduler_harness import Harness, make_harness


def report(*found: ReportedMount, host: str, nids: tuple[str, ...] = ()) -> LustreReport:
    """`host`'s report: its own target of fs1 running, and what else was `found` there."""
    mounts = (OWN[host], *found)
    return LustreReport(
        lnet="up",
        mounted_devices=frozenset(m.device for m in mounts),
        mounts=mounts,
        nids=nids,
    )


OWN = {
    "oss1": ReportedMount("fs1-OST0000", "/dev/mapper/ost0", "/mnt/fs1-OST0000"),
    "oss2": ReportedMount("fs1-OST0001", "/dev/mapper/ost1", "/mnt/fs1-OST0001"),
}


def ost(label: str, device: str, *mgs_nids: str) -> ReportedMount:
    return ReportedMount(label, device, f"/mnt/{label}", tuple(mgs_nids))


def filesystems(h: Harness) -> dict[str, tuple[bool, str, list[str]]]:
    """Live filesystem name → (monitor-only, its MGS's name, its targets' names)."""
    with h.database.session() as session:
        return {
            fs.name: (fs.monitor_only, fs.mgs.name, sorted(t.name for t in fs.live_targets()))
            for fs in session.scalars(select(Filesystem).where(Filesystem.deleted_at.is_(None)))
        }


def audit_events(h: Harness) -> list[str]:
    with h.database.session() as session:
        return list(session.scalars(select(Event.message).where(Event.kind == "audit")))


def test_a_filesystem_made_by_hand_on_our_mgs_is_imported_once(database: Database):
    h = make_harness(database, running=True)
    found = report(ost("fs3-OST0000", "/dev/mapper/spare", "10.0.0.1@tcp"), host="oss1")
    changed = h.scheduler.observe("oss1.lab", found)
    assert filesystems(h)["fs3"] == (True, "MGS", ["fs3-OST0000"])
    assert filesystems(h)["fs1"][0] is False
    with database.session() as session:
        fs3 = session.scalar(select(Filesystem).where(Filesystem.name == "fs3"))
        assert fs3 is not None and str(fs3.state) == "available"
        target = fs3.targets[0]
        assert (str(target.state), target.index, target.monitor_only) == ("mounted", 0, True)
        assert [(m.volume_node.path, m.active) for m in target.mounts] == [
            ("/dev/mapper/spare", True)
        ]
        assert set(changed) == {(TARGET, target.id), (FILESYSTEM, fs3.id)}
    assert audit_events(h) == ["fs3 found running on oss1.lab, imported as monitor-only."]
    assert h.scheduler.observe("oss1.lab", found) == []
    assert len(audit_events(h)) == 1


def test_what_the_model_already_says_is_not_rewritten_from_a_report(database: Database):
    h = make_harness(database, running=True)
    before = filesystems(h)
    # A disk of fs1-OST0000 now labelled otherwise, an OST added by hand to fs1 (a filesystem
    # we set up), and an OST whose MGS no managed server runs.
    h.scheduler.observe(
        "oss1.lab",
        report(
            ost("fs9-OST0000", "/dev/mapper/ost0", "10.0.0.1@tcp"),
            ost("fs1-OST0002", "/dev/mapper/ost2", "10.0.0.1@tcp"),
            ost("fs5-OST0000", "/dev/mapper/spare", "10.9.9.9@tcp"),
            ost("fs6:OST0000", "/dev/mapper/nothing", "10.0.0.1@tcp"),
            host="oss1",
        ),
    )
    assert filesystems(h) == before
    assert audit_events(h) == []


def test_a_target_waits_for_its_mgs_and_follows_it_into_the_model(database: Database):
    h = make_harness(database, running=True)
    # oss2 runs an OST of fs4, whose MGS runs on oss1 (10.0.0.3): not known yet.
    oss2 = report(
        ost("fs4-OST0001", "/dev/mapper/both", "10.0.0.3@tcp"), host="oss2", nids=("10.0.0.4@tcp",)
    )
    assert h.scheduler.observe("oss2.lab", oss2) == []
    assert "fs4" not in filesystems(h)
    mgs = ReportedMount("MGS", "/dev/mapper/spare", "/mnt/mgs")
    h.scheduler.observe("oss1.lab", report(mgs, host="oss1", nids=("10.0.0.3@tcp",)))
    assert filesystems(h)["fs4"] == (True, "MGS", ["fs4-OST0001"])
    with database.session() as session:
        fs4 = session.scalar(select(Filesystem).where(Filesystem.name == "fs4"))
        assert fs4 is not None and fs4.mgs.monitor_only and fs4.ost_next_index == 2
    assert audit_events(h) == [
        "An MGS found running on oss1.lab, imported as monitor-only.",
        "fs4 found running on oss2.lab, imported as monitor-only.",
    ]
    assert h.scheduler.available_transitions((TARGET, fs4.mgs_id)) == []
    assert [o.state for o in h.scheduler.available_transitions((FILESYSTEM, fs4.id))] == [
        "forgotten"
    ]


def test_a_monitor_only_target_found_on_the_other_server_of_its_volume_runs_there(
    database: Database,
):
    h = make_harness(database, running=True)
    moved = ost("fs3-OST0000", "/dev/mapper/both", "10.0.0.1@tcp")
    h.scheduler.observe("oss1.lab", report(moved, host="oss1"))
    h.scheduler.observe("oss1.lab", report(host="oss1"))
    h.scheduler.observe("oss2.lab", report(moved, host="oss2"))
    with database.session() as session:
        target = session.scalar(select(Target).where(Target.name == "fs3-OST0000"))
        assert target is not None
        assert [(m.host.address, m.active) for m in target.mounts] == [
            ("oss1.lab", False),
            ("oss2.lab", True),
        ]
        assert str(target.state) == "mounted"


def test_a_filesystem_removed_from_the_manager_is_not_imported_again(database: Database):
    h = make_harness(database, running=True)
    found = report(ost("fs3-OST0000", "/dev/mapper/spare", "10.0.0.1@tcp"), host="oss1")
    h.scheduler.observe("oss1.lab", found)
    with database.session() as session:
        fs3 = session.scalar(select(Filesystem).where(Filesystem.name == "fs3"))
        assert fs3 is not None
        ref = (FILESYSTEM, fs3.id)
    assert [o.jobs for o in h.scheduler.available_transitions(ref)] != []
    h.scheduler.request_state(ref, "forgotten", actor="alice", confirmed=True)
    while h.scheduler.pump():
        pass
    assert "fs3" not in filesystems(h)
    assert h.actions() == [], "forgetting touches no server"
    assert h.scheduler.observe("oss1.lab", found) == []
    assert "fs3" not in filesystems(h)


def test_no_job_changes_a_monitor_only_target_not_even_on_the_way(database: Database):
    h = make_harness(database, running=True)
    h.scheduler.observe(
        "oss1.lab", report(ost("fs3-OST0000", "/dev/mapper/spare", "10.0.0.1@tcp"), host="oss1")
    )
    with pytest.raises(ConflictError, match="fs3-OST0000 is monitor-only") as refused:
        h.scheduler.preview_state((LNET, h.hosts["oss1"]), "down")
    assert refused.value.hint == "Do it on the server, or remove it from Chroma Desktop first."
    assert h.scheduler.available_transitions((LNET, h.hosts["oss1"])) == [], "not offered"
    with database.session() as session:
        fs3 = session.scalar(select(Filesystem).where(Filesystem.name == "fs3"))
        assert fs3 is not None
        ref = (FILESYSTEM, fs3.id)
    with pytest.raises(ConflictError, match="fs3 is monitor-only"):
        h.scheduler.request_state(ref, "stopped", actor="alice", confirmed=True)
