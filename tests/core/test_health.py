"""Health rolled up from what simulated servers report: green when all is well; a server that
dies makes itself and the targets it ran red and the filesystem amber (an OST) or red (the
MDS); a target on its failover server is amber; dismissed alerts still count."""

from __future__ import annotations

from core.alerts import SERVER_OFFLINE_GRACE_S
from core.database import Database
from core.health import HealthLevel, HealthReport, compute_health
from core.models import AlertKind
from tests.core.test_alerts import MDT0, OST0, OST1, SimHarness


def health(sim: SimHarness) -> HealthReport:
    with sim.database.session() as session:
        return compute_health(session)


def test_a_healthy_cluster_is_green_everywhere(database: Database):
    sim = SimHarness(database)
    report = health(sim)
    levels = {h.level for h in [*report.hosts.values(), *report.targets.values()]}
    assert levels == {HealthLevel.GREEN}
    assert report.filesystems[sim.filesystem_id].level == HealthLevel.GREEN
    assert report.filesystems[sim.filesystem_id].reasons == ()


def test_a_dead_oss_makes_its_ost_red_and_the_filesystem_amber(database: Database):
    sim = SimHarness(database)
    sim.cluster.fault("sim-oss1", "power-off")
    sim.advance(SERVER_OFFLINE_GRACE_S + 1)
    sim.tick()
    report = health(sim)
    assert report.hosts[sim.hosts["sim-oss1"]].level == HealthLevel.RED
    ost = report.targets[sim.targets[OST0]]
    assert ost.level == HealthLevel.RED
    assert ost.reasons == ("its server sim-oss1 is offline",)
    assert report.targets[sim.targets[OST1]].level == HealthLevel.GREEN
    filesystem = report.filesystems[sim.filesystem_id]
    assert filesystem.level == HealthLevel.AMBER
    assert filesystem.reasons == (f"{OST0}: its server sim-oss1 is offline",)

    # The admin dismisses the server's alert: it is seen, not gone.
    [offline] = sim.alerts(AlertKind.SERVER_OFFLINE)
    sim.engine.dismiss(offline.id, actor="alice")
    host = health(sim).hosts[sim.hosts["sim-oss1"]]
    assert host.level == HealthLevel.RED
    assert host.reasons == ("Lost contact with sim-oss1 (dismissed)",)


def test_a_dead_mds_makes_the_filesystem_red(database: Database):
    sim = SimHarness(database)
    sim.cluster.fault("sim-mds1", "crash")
    sim.cluster.fault("sim-mds1", "restore")  # it rebooted with nothing mounted
    sim.report("sim-mds1")
    report = health(sim)
    assert report.targets[sim.targets[MDT0]].level == HealthLevel.RED
    assert report.targets[sim.targets["MGS"]].level == HealthLevel.RED
    assert report.hosts[sim.hosts["sim-mds1"]].level == HealthLevel.AMBER  # LNet down
    filesystem = report.filesystems[sim.filesystem_id]
    assert filesystem.level == HealthLevel.RED
    assert f"{MDT0}: {MDT0} is not running (it ran on sim-mds1)" in filesystem.reasons


def test_a_target_on_its_failover_server_is_amber(database: Database):
    sim = SimHarness(database)
    sim.cluster.fault("sim-oss2", "power-off")
    sim.act("sim-oss1", "mount_target", device=sim.devices[OST1], mount_point=f"/mnt/{OST1}")
    sim.report("sim-oss1")
    report = health(sim)
    ost = report.targets[sim.targets[OST1]]
    assert ost.level == HealthLevel.AMBER
    assert f"{OST1} is running on its failover server sim-oss1" in ost.reasons
    assert report.filesystems[sim.filesystem_id].level == HealthLevel.AMBER
