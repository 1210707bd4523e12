"""The audit on the simulator: a filesystem an admin made by hand on two simulated servers,
before Chroma Desktop knew them, is imported as monitor-only when the servers are paired, grows
as the second server reports its part, offers nothing but removal, and a report that shows
nothing new changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from twisted.internet.task import Clock

from agentlink.reports import parse_push
from agentlink.runtime import ReactorThread
from agentlink.simulator import SimulatedCluster
from agentlink.simulator.model import LunPurpose
from core.database import Database
from core.models import Event, Filesystem, Target, TargetMount, VolumeNode
from core.observations import LustreReported
from core.scheduler import FILESYSTEM, TARGET
from tests.desktop.conftest import WAIT_S, Site, start_site, wait_for

FSNAME = "fs2"


def _run(cluster: SimulatedCluster, clock: Clock, host: str, argv: list[str]) -> None:
    """Run one command on a simulated server, pumping its time until it answers."""
    results: list[object] = []
    cluster.server(host).run(argv).addCallback(results.append)
    while not results:
        due = [call.getTime() for call in clock.getDelayedCalls() if call.active()]
        assert due, f"{argv} never finished on {host}"
        clock.advance(max(0.0, min(due) - clock.seconds()))
    assert getattr(results[0], "exit_code", None) == 0, (host, argv, results[0])


def make_filesystem_by_hand(state_dir: Path) -> dict[str, str]:
    """What an admin does at the servers' consoles: LNet up, an MGS and an MDT on sim-mds1, an
    OST (index 3) on sim-mds2, all formatted with mkfs.lustre and mounted. Returns the device
    of each target. Done on a clock of its own: formatting takes the simulated minutes it
    takes, not the test's."""
    clock = Clock()
    cluster = SimulatedCluster.open(state_dir, clock=clock, server_count=2, seed=3)
    luns = {
        purpose: [lun.path for lun in cluster.model.luns.values() if lun.purpose == purpose]
        for purpose in LunPurpose
    }
    mgs_nid = cluster.server("sim-mds1").nids[0]
    for host in ("sim-mds1", "sim-mds2"):
        _run(cluster, clock, host, ["modprobe", "lnet"])
        _run(cluster, clock, host, ["lctl", "network", "up"])
    devices = {
        "MGS": luns[LunPurpose.MGT][0],
        f"{FSNAME}-MDT0000": luns[LunPurpose.MDT][0],
        f"{FSNAME}-OST0003": luns[LunPurpose.OST][1],
    }
    formats = [
        ("sim-mds1", "MGS", ["--mgs"], "/mnt/mgs"),
        ("sim-mds1", f"{FSNAME}-MDT0000", ["--mdt", "--index=0"], "/mnt/fs2/mdt0"),
        ("sim-mds2", f"{FSNAME}-OST0003", ["--ost", "--index=3"], "/mnt/fs2/ost3"),
    ]
    for host, label, options, mount_point in formats:
        if label != "MGS":
            options = [*options, f"--fsname={FSNAME}", f"--mgsnode={mgs_nid}"]
        _run(cluster, clock, host, ["mkfs.lustre", *options, devices[label]])
        _run(cluster, clock, host, ["mkdir", "-p", mount_point])
        _run(cluster, clock, host, ["mount", "-t", "lustre", devices[label], mount_point])
    cluster.save()
    return devices


@pytest.fixture
def handmade(
    tmp_path: Path, reactor_thread: ReactorThread, sqlite_database: Database
) -> Iterator[tuple[Site, dict[str, str]]]:
    devices = make_filesystem_by_hand(tmp_path / "sim")
    for site in start_site(tmp_path, reactor_thread, sqlite_database, 2):
        yield site, devices


def _imported(database: Database) -> dict[str, tuple[str, bool, str | None, list[str]]]:
    """Target name → (state, monitor-only, filesystem, [device of each mount])."""
    with database.session() as session:
        found = {}
        for target in session.scalars(select(Target).where(Target.deleted_at.is_(None))):
            paths = [
                str(path)
                for path in session.scalars(
                    select(VolumeNode.path)
                    .join(TargetMount, TargetMount.volume_node_id == VolumeNode.id)
                    .where(TargetMount.target_id == target.id)
                )
            ]
            fsname = target.filesystem.name if target.filesystem else None
            found[target.name] = (str(target.state), target.monitor_only, fsname, paths)
        return found


def _report(site: Site, server: str) -> LustreReported:
    state = site.manager.reactor_thread.call_and_wait(
        lambda: site.cluster.server(server).lustre_state()
    )
    observation = parse_push(
        site.address(server), {"kind": "lustre", "state": state}, received_at=datetime.now(UTC)
    )
    assert isinstance(observation, LustreReported)
    return observation


def test_a_filesystem_made_by_hand_is_imported_monitor_only_and_offers_only_removal(handmade):
    site, devices = handmade
    database = site.manager.database
    site.pair("sim-mds1")
    wait_for(lambda: f"{FSNAME}-MDT0000" in _imported(database), "fs2 to be imported")
    found = _imported(database)
    assert found["MGS"] == ("mounted", True, None, [devices["MGS"]])
    mdt = f"{FSNAME}-MDT0000"
    assert found[mdt] == ("mounted", True, FSNAME, [devices[mdt]])

    # The second server's report adds its OST to the same filesystem.
    site.pair("sim-mds2")
    ost = f"{FSNAME}-OST0003"
    wait_for(lambda: ost in _imported(database), "the OST of the second server")
    assert _imported(database)[ost] == ("mounted", True, FSNAME, [devices[ost]])
    with database.session() as session:
        filesystems = list(session.scalars(select(Filesystem).where(Filesystem.name == FSNAME)))
        assert len(filesystems) == 1
        filesystem = filesystems[0]
        assert filesystem.monitor_only
        assert str(filesystem.state) == "available"
        assert filesystem.ost_next_index == 4
        ids = {t.name: t.id for t in filesystem.targets} | {"MGS": filesystem.mgs_id}
        fs_id = filesystem.id

    def menus(ref: tuple[str, int]) -> tuple[list[str], list[str]]:
        def read(scheduler):  # type: ignore[no-untyped-def]
            return (
                [option.state for option in scheduler.available_transitions(ref)],
                [option.kind for option in scheduler.available_jobs(ref)],
            )

        return site.manager.run(read).result(timeout=WAIT_S)

    assert menus((FILESYSTEM, fs_id)) == (["forgotten"], [])
    assert menus((TARGET, ids[ost])) == (["forgotten"], [])
    assert menus((TARGET, ids[mdt])) == (["forgotten"], [])
    assert menus((TARGET, ids["MGS"])) == ([], []), "its filesystem goes first"

    def audit_events() -> list[str]:
        with database.session() as session:
            return list(session.scalars(select(Event.message).where(Event.kind == "audit")))

    assert audit_events() == [
        "An MGS found running on sim-mds1, imported as monitor-only.",
        f"{FSNAME} found running on sim-mds1, imported as monitor-only.",
        f"{ost} of {FSNAME} found running on sim-mds2, added as monitor-only.",
    ]

    # Reports that show nothing new change nothing.
    before = _imported(database)
    for server in ("sim-mds1", "sim-mds2"):
        address, report = site.address(server), _report(site, server).report

        def observe(scheduler, address=address, report=report):  # type: ignore[no-untyped-def]
            return scheduler.observe(address, report)

        assert site.manager.run(observe).result(timeout=WAIT_S) == []
    assert _imported(database) == before
    assert len(audit_events()) == 3
