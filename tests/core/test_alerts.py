"""Alerts raised and cleared from what simulated servers report, with the faults the simulator
injects: each kind raised with its evidence and cleared again, no alarm for planned changes,
dismissal, and the events timeline. Time is a Twisted Clock shared by the simulator and the
desktop's clock; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from twisted.internet.task import Clock

from agentlink.connector import LinkEvent, LinkState
from agentlink.daemon.lustre_actions import command_lines
from agentlink.reports import contact_from_link_event, parse_push
from agentlink.simulator import ServerEvent, SimulatedCluster, SimulatedServer
from agentlink.simulator.model import LunPurpose
from core.alerts import (
    CLOCK_SKEW_SETTLE_S,
    ERROR_SPIKE_LINES,
    ERROR_SPIKE_WINDOW_S,
    SERVER_OFFLINE_GRACE_S,
    AlertChangeKind,
    AlertEngine,
    AlertRecord,
    list_alerts,
)
from core.database import Database
from core.fakes import ScriptedReply
from core.models import (
    AlertKind,
    Event,
    Filesystem,
    Host,
    Job,
    Nid,
    Severity,
    Target,
    VolumeNode,
)
from core.observations import Observation
from core.scheduler import JobChanged
from core.states import FilesystemState, LNetState, RunState, TargetState
from tests.core.scheduler_harness import make_harness

EPOCH = 1_800_000_000.0
VERSION = "1.0.0"
FSNAME = "demofs"
HOSTS = ("sim-mds1", "sim-mds2", "sim-oss1", "sim-oss2")


class DesktopClock:
    """The desktop's clock (core's Clock port) on the same Twisted Clock as the simulator."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(EPOCH + self.clock.seconds(), UTC)

    def monotonic(self) -> float:
        return self.clock.seconds()


class SimHarness:
    """Four simulated servers running demofs (MGS and MDT on the MDS pair, one OST on each
    OSS), the same cluster in the database, and an alert engine fed what the agents push."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.clock = Clock()
        self.skew_s = 0.0
        """How far the servers' clocks are off the desktop's."""
        self.cluster = SimulatedCluster.create(
            clock=self.clock, wall=self.wall, seed=7, server_count=4
        )
        self.desktop = DesktopClock(self.clock)
        self.engine = AlertEngine(database, self.desktop, agent_version=VERSION)
        self.versions = dict.fromkeys(HOSTS, VERSION)
        self.changes: list[Any] = []
        self.cluster.add_observer(self._server_event)
        self.targets: dict[str, int] = {}
        self.hosts: dict[str, int] = {}
        self.devices: dict[str, str] = {}
        """Target name → device path."""
        self._build_model()
        self._bring_up()
        for host in HOSTS:
            self.link(host, up=True)
        self.advance(20)  # clients connect to the targets
        self.report_all()

    # --- time and commands ---------------------------------------------------------------------

    def wall(self) -> float:
        return EPOCH + self.clock.seconds() + self.skew_s

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def server(self, host: str) -> SimulatedServer:
        return self.cluster.server(host)

    def run(self, host: str, argv: list[str]) -> int:
        codes: list[int] = []
        self.server(host).run(argv).addCallback(lambda result: codes.append(result.exit_code))
        while not codes:
            due = [c.getTime() for c in self.clock.getDelayedCalls() if c.active()]
            assert due, f"{argv} never finished on {host}"
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
        return codes[0]

    def act(self, host: str, action: str, **args: Any) -> None:
        for argv in command_lines(action, args):
            code = self.run(host, argv)
            assert code == 0, (host, argv, code)

    def lun_path(self, host: str, purpose: LunPurpose, number: int) -> str:
        luns = [x for x in self.cluster.model.visible_luns(host) if x.purpose == purpose]
        return luns[number].path

    # --- the desktop's model of the same cluster -----------------------------------------------

    def _build_model(self) -> None:
        from core import inventory

        model = self.cluster.model
        with self.database.session(actor="test") as session:
            hosts = {}
            for name in HOSTS:
                host = inventory.add_host(session, name)
                host.fqdn = name
                host.cert_fingerprint = f"fingerprint-{name}"
                assert host.lnet is not None
                host.lnet.state = LNetState.UP
                for nid in model.servers[name].nids:
                    host.lnet.nids.append(Nid(nid_string=nid.replace("@tcp", "@tcp0")))
                hosts[name] = host
            volumes: dict[str, Any] = {}
            ost_number = 0
            for lun in model.luns.values():
                if lun.purpose == LunPurpose.SYSTEM:
                    continue
                volume = inventory.add_volume(session, serial=lun.serial, size_bytes=lun.size_bytes)
                primary = lun.hosts[0]
                if lun.purpose == LunPurpose.OST:
                    primary = lun.hosts[ost_number % 2]
                    ost_number += 1
                for name in lun.hosts:
                    inventory.add_volume_node(
                        session, volume, hosts[name], lun.path, primary=name == primary
                    )
                volumes.setdefault(lun.purpose.value, []).append(volume)
            filesystem = inventory.create_filesystem(
                session,
                FSNAME,
                mgt_volume=volumes["MGT"][0],
                mdt_volumes=[volumes["MDT"][0]],
                ost_volumes=volumes["OST"][:2],
            )
            session.flush()
            self.filesystem_id = filesystem.id
            self.hosts = {name: host.id for name, host in hosts.items()}
            for target in [filesystem.mgs, *filesystem.targets]:
                self.targets[target.name] = target.id
                primary_mount = target.mounts[0]
                self.devices[target.name] = primary_mount.volume_node.path

    def _bring_up(self) -> None:
        """Format and start every target on its primary server, as the real actions do, and
        record it in the model as a running filesystem."""
        nids = {h: [self.server(h).nids[0].replace("@tcp", "@tcp0")] for h in HOSTS}
        for host in HOSTS:
            self.act(host, "load_lnet")
            self.act(host, "start_lnet")
        mgs_nids = [nids["sim-mds1"], nids["sim-mds2"]]
        with self.database.session(actor="test") as session:
            targets = [session.get(Target, ident) for ident in self.targets.values()]
            for target in sorted(targets, key=lambda t: (t.kind != "MGT", t.kind != "MDT")):
                assert target is not None
                mount = target.mounts[0]
                host = mount.host.address
                pair = [nids[m.host.address] for m in target.mounts]
                args: dict[str, Any] = {
                    "device": mount.volume_node.path,
                    "kind": target.kind.value,
                    "service_nids": pair,
                }
                if target.kind.value != "MGT":
                    args |= {"fsname": FSNAME, "index": target.index, "mgs_nids": mgs_nids}
                self.act(host, "format_target", **args)
                for other in target.mounts:
                    self.act(
                        other.host.address,
                        "configure_target_mount",
                        mount_point=target.default_mount_point,
                    )
                self.act(
                    host,
                    "mount_target",
                    device=mount.volume_node.path,
                    mount_point=target.default_mount_point,
                )
                target.state = TargetState.MOUNTED
                mount.active = True
            filesystem = session.get(Filesystem, self.filesystem_id)
            assert filesystem is not None
            filesystem.state = FilesystemState.AVAILABLE

    # --- what the agents push, through agentlink.reports ---------------------------------------

    def feed(self, host: str, observation: Observation) -> None:
        self.changes += self.engine.observe(host, observation)

    def push(self, host: str, body: dict[str, Any]) -> None:
        self.feed(host, parse_push(host, body, received_at=self.desktop.now()))

    def report(self, host: str) -> None:
        """One reporting round of the host's agent: devices, Lustre state and records."""
        server = self.server(host)
        if not server.online:
            return  # a dead machine says nothing
        self.push(host, {"kind": "devices", "devices": server.devices()})
        self.push(host, {"kind": "lustre", "state": server.lustre_state()})
        records = server.collect(self.wall())
        self.push(host, {"kind": "records", "records": [[i, r] for i, r in enumerate(records)]})

    def report_all(self) -> None:
        for host in HOSTS:
            self.report(host)

    def link(self, host: str, *, up: bool, why: str = "connection lost", planned: bool = False):
        detail = f"{host}, agent {self.versions[host]}" if up else why
        event = LinkEvent(host, LinkState.CONNECTED if up else LinkState.DISCONNECTED, detail)
        self.feed(
            host, contact_from_link_event(event, received_at=self.desktop.now(), planned=planned)
        )

    def _server_event(self, server: SimulatedServer, event: ServerEvent) -> None:
        """What the link layer sees when a simulated server dies, boots or drops its links."""
        host = server.hostname
        if event in (ServerEvent.CRASHED, ServerEvent.POWERED_OFF):
            self.link(host, up=False, why="the agent stopped answering heartbeats")
        elif event == ServerEvent.BOOTED:
            self.link(host, up=True)
        elif event == ServerEvent.LINK_DROPPED:
            self.link(host, up=False, why="connection reset")

    def tick(self) -> None:
        self.changes += self.engine.tick()

    # --- what the desktop now says -------------------------------------------------------------

    def alerts(self, kind: AlertKind | None = None) -> list[AlertRecord]:
        with self.database.session() as session:
            found = list_alerts(session)
        return [a for a in found if kind is None or a.kind == kind]

    def alert(self, kind: AlertKind, subject: tuple[str, int]) -> AlertRecord | None:
        matching = [a for a in self.alerts(kind) if (a.subject_kind, a.subject_id) == subject]
        assert len(matching) <= 1
        return matching[0] if matching else None

    def history(self, kind: AlertKind) -> list[AlertRecord]:
        with self.database.session() as session:
            return [a for a in list_alerts(session, active_only=False) if a.kind == kind]

    def target(self, name: str) -> tuple[str, int]:
        return ("target", self.targets[name])

    def host(self, name: str) -> tuple[str, int]:
        return ("host", self.hosts[name])

    def events(self) -> list[str]:
        with self.database.session() as session:
            return list(session.scalars(select(Event.message).order_by(Event.id)))


@pytest.fixture
def sim(database: Database) -> SimHarness:
    return SimHarness(database)


OST0 = f"{FSNAME}-OST0000"
OST1 = f"{FSNAME}-OST0001"
MDT0 = f"{FSNAME}-MDT0000"


def test_a_healthy_cluster_has_no_alerts(sim: SimHarness):
    sim.advance(60)
    sim.report_all()
    sim.tick()
    assert sim.alerts() == []
    with sim.database.session() as session:
        host = session.get(Host, sim.hosts["sim-oss1"])
        assert host is not None and host.last_contact is not None
        assert host.agent_version == VERSION


def test_a_crash_raises_server_offline_then_lnet_down_target_offline_and_recovery(
    sim: SimHarness,
):
    sim.cluster.fault("sim-oss1", "crash")
    sim.tick()
    assert sim.alerts() == [], "not before the grace time: it may come straight back"
    sim.advance(SERVER_OFFLINE_GRACE_S + 1)
    sim.tick()
    offline = sim.alert(AlertKind.SERVER_OFFLINE, sim.host("sim-oss1"))
    assert offline is not None and offline.severity == Severity.ERROR
    assert offline.evidence[0]["link"] == "the agent stopped answering heartbeats"
    assert "Lost contact with sim-oss1" in sim.events()

    sim.cluster.fault("sim-oss1", "restore")  # boots: the agent connects again
    assert sim.alert(AlertKind.SERVER_OFFLINE, sim.host("sim-oss1")) is None
    sim.report("sim-oss1")
    lnet = sim.alert(AlertKind.LNET_DOWN, sim.host("sim-oss1"))
    assert lnet is not None and lnet.evidence[0]["lnet"] == "unloaded"
    offline_target = sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST0))
    assert offline_target is not None
    assert offline_target.evidence[0]["expected_device"] == sim.devices[OST0]
    assert any("sim-oss1 restarted at" in message for message in sim.events())
    assert sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST1)) is None, "oss2's ran on"

    sim.act("sim-oss1", "load_lnet")
    sim.act("sim-oss1", "start_lnet")
    sim.act("sim-oss1", "mount_target", device=sim.devices[OST0], mount_point=f"/mnt/{OST0}")
    sim.report("sim-oss1")
    assert sim.alert(AlertKind.LNET_DOWN, sim.host("sim-oss1")) is None
    assert sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST0)) is None
    recovery = sim.alert(AlertKind.RECOVERY_IN_PROGRESS, sim.target(OST0))
    assert recovery is not None and recovery.evidence[0]["recovery"] == "RECOVERING"

    sim.advance(200)  # the clients reconnect
    sim.report("sim-oss1")
    assert sim.alert(AlertKind.RECOVERY_IN_PROGRESS, sim.target(OST0)) is None
    assert sim.alerts() == []
    for kind in (
        AlertKind.SERVER_OFFLINE,
        AlertKind.LNET_DOWN,
        AlertKind.TARGET_OFFLINE,
        AlertKind.RECOVERY_IN_PROGRESS,
    ):
        assert [a.active for a in sim.history(kind)] == [False], kind


def test_a_dropped_link_that_comes_straight_back_is_no_alarm(sim: SimHarness):
    sim.cluster.fault("sim-oss2", "drop-link")
    sim.advance(3)
    sim.link("sim-oss2", up=True)
    sim.advance(SERVER_OFFLINE_GRACE_S * 3)
    sim.tick()
    assert sim.alerts(AlertKind.SERVER_OFFLINE) == []


def test_a_link_the_desktop_closed_on_purpose_is_no_alarm(sim: SimHarness):
    sim.link("sim-oss2", up=False, why="Chroma Desktop is stopping", planned=True)
    sim.advance(SERVER_OFFLINE_GRACE_S * 3)
    sim.tick()
    assert sim.alerts(AlertKind.SERVER_OFFLINE) == []


def test_a_powered_off_server_never_heard_from_after_a_desktop_restart_is_offline(
    sim: SimHarness,
):
    sim.cluster.fault("sim-mds2", "power-off")
    restarted = AlertEngine(sim.database, sim.desktop, agent_version=VERSION)
    for host in ("sim-mds1", "sim-oss1", "sim-oss2"):
        restarted.observe(
            host,
            parse_push(
                host,
                {"kind": "lustre", "state": sim.server(host).lustre_state()},
                received_at=sim.desktop.now(),
            ),
        )
    sim.advance(SERVER_OFFLINE_GRACE_S + 1)
    changes = restarted.tick()
    assert [(c.change, c.subject_id) for c in changes] == [
        (AlertChangeKind.RAISED, sim.hosts["sim-mds2"])
    ]
    alert = sim.alert(AlertKind.SERVER_OFFLINE, sim.host("sim-mds2"))
    assert alert is not None
    assert alert.evidence[0]["link"] == "no contact since Chroma Desktop started"


def test_a_target_failed_over_to_its_secondary_and_back(sim: SimHarness):
    sim.cluster.fault("sim-oss1", "power-off")
    sim.act("sim-oss2", "mount_target", device=sim.devices[OST0], mount_point=f"/mnt/{OST0}")
    sim.report("sim-oss2")
    moved = sim.alert(AlertKind.TARGET_ON_SECONDARY, sim.target(OST0))
    assert moved is not None
    assert moved.evidence[0]["host"] == "sim-oss2"
    assert sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST0)) is None

    sim.act("sim-oss2", "unmount_target", mount_point=f"/mnt/{OST0}")
    sim.cluster.fault("sim-oss1", "power-on")
    sim.act("sim-oss1", "load_lnet")
    sim.act("sim-oss1", "start_lnet")
    sim.act("sim-oss1", "mount_target", device=sim.devices[OST0], mount_point=f"/mnt/{OST0}")
    sim.report("sim-oss2")
    sim.report("sim-oss1")
    assert sim.alert(AlertKind.TARGET_ON_SECONDARY, sim.target(OST0)) is None
    assert [a.active for a in sim.history(AlertKind.TARGET_ON_SECONDARY)] == [False]


def test_a_device_a_server_no_longer_sees_is_missing_until_it_is_back(sim: SimHarness):
    lun = next(x for x in sim.cluster.model.luns.values() if x.path == sim.devices[OST1])
    paths = lun.hosts
    lun.hosts = ["sim-oss2"]  # the failover path to OST0001 is unplugged
    sim.report("sim-oss1")
    [missing] = sim.alerts(AlertKind.STORAGE_DEVICE_MISSING)
    with sim.database.session() as session:
        node = session.get(VolumeNode, missing.subject_id)
        assert node is not None and node.path == lun.path
        assert node.host_id == sim.hosts["sim-oss1"]
    assert missing.evidence[0]["expected"] == lun.path
    assert lun.path not in missing.evidence[0]["reported"]
    assert missing.evidence[0]["serial_now_at"] is None  # not seen at any other path either

    lun.hosts = paths
    sim.report("sim-oss1")
    assert sim.alerts(AlertKind.STORAGE_DEVICE_MISSING) == []


def test_a_full_ost_raises_capacity_high_with_its_statistics_until_restored(sim: SimHarness):
    sim.cluster.fault("sim-oss1", "disk-full")
    sim.advance(10)
    sim.report("sim-oss1")
    full = sim.alert(AlertKind.CAPACITY_HIGH, sim.target(OST0))
    assert full is not None and full.severity == Severity.ERROR
    sample = full.evidence[0]
    assert sample["kbytesfree"] == 0 and sample["percent"] == 100.0
    assert sample["kbytestotal"] > 0
    assert sim.alert(AlertKind.CAPACITY_HIGH, sim.target(OST1)) is None

    sim.cluster.fault("sim-oss1", "restore")
    sim.advance(10)
    sim.report("sim-oss1")
    assert sim.alert(AlertKind.CAPACITY_HIGH, sim.target(OST0)) is None


def test_an_mdt_running_out_of_inodes_raises_inodes_high_until_freed(sim: SimHarness):
    lun = next(x for x in sim.cluster.model.luns.values() if x.path == sim.devices[MDT0])
    assert lun.target is not None
    normal = lun.target.used_inodes
    lun.target.used_inodes = int(lun.target.inode_count * 0.95)  # a user made many files
    sim.advance(10)
    sim.report("sim-mds1")
    high = sim.alert(AlertKind.INODES_HIGH, sim.target(MDT0))
    assert high is not None and high.severity == Severity.WARNING
    assert 95 <= high.evidence[0]["percent"] < 96

    lun.target.used_inodes = normal  # and removed them
    sim.advance(10)
    sim.report("sim-mds1")
    assert sim.alert(AlertKind.INODES_HIGH, sim.target(MDT0)) is None


def test_a_server_clock_ahead_is_skew_at_once(sim: SimHarness):
    sim.skew_s = 90
    sim.advance(10)
    sim.report("sim-oss2")
    skew = sim.alert(AlertKind.CLOCK_SKEW, sim.host("sim-oss2"))
    assert skew is not None and "ahead" in skew.message
    assert skew.evidence[0]["offset_s"] == 90

    sim.skew_s = 0
    sim.advance(CLOCK_SKEW_SETTLE_S * 4)
    sim.report("sim-oss2")
    assert sim.alert(AlertKind.CLOCK_SKEW, sim.host("sim-oss2")) is None


def test_a_server_clock_behind_is_skew_only_once_every_batch_was_late(sim: SimHarness):
    sim.skew_s = -90
    sim.advance(10)
    sim.report("sim-oss2")
    assert sim.alerts(AlertKind.CLOCK_SKEW) == [], "one late batch may have been queued"
    for _ in range(int(CLOCK_SKEW_SETTLE_S // 10) + 1):
        sim.advance(10)
        sim.report("sim-oss2")
    skew = sim.alert(AlertKind.CLOCK_SKEW, sim.host("sim-oss2"))
    assert skew is not None and "behind" in skew.message

    sim.skew_s = 0
    sim.advance(10)
    sim.report("sim-oss2")
    assert sim.alert(AlertKind.CLOCK_SKEW, sim.host("sim-oss2")) is None


def test_a_burst_of_io_errors_is_an_error_log_spike_until_it_dies_down(sim: SimHarness):
    spare = sim.lun_path("sim-oss1", LunPurpose.OST, 3)
    sim.act("sim-oss1", "configure_target_mount", mount_point="/mnt/spare")
    for _ in range(ERROR_SPIKE_LINES):
        sim.cluster.fault("sim-oss1", "fail-next-action")
        assert sim.run("sim-oss1", ["mount", "-t", "lustre", spare, "/mnt/spare"]) != 0
    sim.report("sim-oss1")
    spike = sim.alert(AlertKind.ERROR_LOG_SPIKE, sim.host("sim-oss1"))
    assert spike is not None
    assert all("I/O error" in item["log"] for item in spike.evidence)
    assert len(spike.evidence) == 20, "bounded"

    for _ in range(int(ERROR_SPIKE_WINDOW_S // 60) + 1):
        sim.advance(60)
        sim.report("sim-oss1")
    assert sim.alert(AlertKind.ERROR_LOG_SPIKE, sim.host("sim-oss1")) is None


def test_an_agent_of_another_version_is_flagged_until_upgraded(sim: SimHarness):
    sim.versions["sim-oss1"] = "0.9.0"
    sim.cluster.fault("sim-oss1", "drop-link")
    sim.link("sim-oss1", up=True)
    mismatch = sim.alert(AlertKind.AGENT_VERSION_MISMATCH, sim.host("sim-oss1"))
    assert mismatch is not None
    assert mismatch.evidence[0] == {
        "agent": "sim-oss1",
        "agent_version": "0.9.0",
        "desktop_version": VERSION,
    }
    sim.versions["sim-oss1"] = VERSION
    sim.cluster.fault("sim-oss1", "drop-link")
    sim.link("sim-oss1", up=True)
    assert sim.alert(AlertKind.AGENT_VERSION_MISMATCH, sim.host("sim-oss1")) is None


def test_changed_nids_are_flagged_until_they_match_again(sim: SimHarness):
    server = sim.cluster.model.servers["sim-oss2"]
    stored = list(server.nids)
    server.nids = ["10.9.9.9@tcp"]  # someone re-addressed the server
    sim.report("sim-oss2")
    changed = sim.alert(AlertKind.LNET_NIDS_CHANGED, sim.host("sim-oss2"))
    assert changed is not None and changed.evidence[0]["reported"] == ["10.9.9.9@tcp0"]
    server.nids = stored
    sim.report("sim-oss2")
    assert sim.alert(AlertKind.LNET_NIDS_CHANGED, sim.host("sim-oss2")) is None


def _succeeded(sim: SimHarness, kind: str, subject: tuple[str, int], to_state: str) -> None:
    """A job the scheduler ran: the admin's intent for the object."""
    with sim.database.session(actor="test") as session:
        session.add(
            Job(
                kind=kind,
                description=kind,
                state=RunState.SUCCEEDED,
                subject_kind=subject[0],
                subject_id=subject[1],
                to_state=to_state,
                finished_at=sim.desktop.now(),
            )
        )


def test_a_target_stopped_on_purpose_and_lnet_taken_down_on_purpose_are_no_alarm(
    sim: SimHarness,
):
    sim.act("sim-oss2", "unmount_target", mount_point=f"/mnt/{OST1}")
    _succeeded(sim, "StopTargetJob", sim.target(OST1), "unmounted")
    sim.act("sim-oss2", "stop_lnet")
    _succeeded(sim, "StopLNetJob", ("lnet", sim.hosts["sim-oss2"]), "down")
    sim.report("sim-oss2")
    assert sim.alerts() == []


def test_a_target_stopped_by_hand_on_the_server_is_offline(sim: SimHarness):
    _succeeded(sim, "StartTargetJob", sim.target(OST1), "mounted")
    sim.act("sim-oss2", "unmount_target", mount_point=f"/mnt/{OST1}")
    sim.report("sim-oss2")
    assert sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST1)) is not None
    # The admin then stops it from the desktop: now it is meant to be down.
    _succeeded(sim, "StopTargetJob", sim.target(OST1), "unmounted")
    sim.report("sim-oss2")
    assert sim.alert(AlertKind.TARGET_OFFLINE, sim.target(OST1)) is None


def test_a_dismissed_alert_stays_dismissed_until_it_clears_and_is_raised_anew(sim: SimHarness):
    sim.cluster.fault("sim-oss1", "disk-full")
    sim.advance(10)
    sim.report("sim-oss1")
    [alert] = sim.alerts(AlertKind.CAPACITY_HIGH)
    dismissed = sim.engine.dismiss(alert.id, actor="alice")
    assert dismissed.dismissed_by == "alice" and dismissed.active
    sim.advance(10)
    sim.report("sim-oss1")
    [still] = sim.alerts(AlertKind.CAPACITY_HIGH)
    assert still.id == alert.id and still.dismissed_at is not None
    assert still.last_seen_at > alert.last_seen_at

    sim.cluster.fault("sim-oss1", "restore")
    sim.advance(10)
    sim.report("sim-oss1")
    sim.cluster.fault("sim-oss1", "disk-full")
    sim.advance(10)
    sim.report("sim-oss1")
    [again] = sim.alerts(AlertKind.CAPACITY_HIGH)
    assert again.id != alert.id and again.dismissed_at is None
    timeline = [m for m in sim.events() if OST0 in m]
    assert timeline == [
        f"{OST0} is 100 % full",
        f"Dismissed by alice: {OST0} is 100 % full",
        f"Cleared: {OST0} is 100 % full (now 0 %)",
        f"{OST0} is 100 % full",
    ]


def test_alerts_of_a_removed_object_are_cleared(sim: SimHarness):
    sim.cluster.fault("sim-oss1", "disk-full")
    sim.advance(10)
    sim.report("sim-oss1")
    assert sim.alerts(AlertKind.CAPACITY_HIGH)
    with sim.database.session(actor="test") as session:
        target = session.get(Target, sim.targets[OST0])
        assert target is not None
        target.deleted_at = sim.desktop.now()
    sim.tick()
    assert sim.alerts(AlertKind.CAPACITY_HIGH) == []


def test_reports_of_unknown_servers_change_nothing(sim: SimHarness):
    before = len(sim.changes)
    sim.cluster.fault("sim-oss1", "crash")
    sim.push("stranger", {"kind": "lustre", "state": sim.server("sim-oss2").lustre_state()})
    assert sim.changes[before:] == []


# --- job outcomes from the real scheduler ------------------------------------------------------


def test_a_failed_job_raises_job_failed_with_its_output_until_a_later_job_succeeds(
    database: Database,
):
    h = make_harness(database, running=True)
    engine = AlertEngine(database, h.scheduler.clock, agent_version=VERSION)

    def finished() -> list[int]:
        ids = [e.job_id for e in h.events if isinstance(e, JobChanged) and e.state.finished]
        h.events.clear()
        return ids

    def feed() -> list[Any]:
        return [change for job_id in finished() for change in engine.job_finished(job_id)]

    h.gateway.script(
        "unmount_target",
        ScriptedReply(stderr="umount: /mnt/fs1-OST0001: target is busy.\n", error="exit 32"),
    )
    h.scheduler.request_state(h.target("fs1-OST0001"), "unmounted", actor="a", confirmed=True)
    [raised] = feed()
    assert raised.change == AlertChangeKind.RAISED
    assert (raised.subject_kind, raised.subject_id) == h.target("fs1-OST0001")
    with database.session() as session:
        [alert] = list_alerts(session)
    evidence = alert.evidence[0]
    assert "target is busy" in evidence["stderr"]
    assert evidence["command_lines"] == ["umount /mnt/fs1-OST0001"]
    assert "exit 32" in alert.message

    h.gateway.script("unmount_target", ScriptedReply())
    h.scheduler.request_state(h.target("fs1-OST0001"), "unmounted", actor="a", confirmed=True)
    assert [c.change for c in feed()] == [AlertChangeKind.CLEARED]
    with database.session() as session:
        assert list_alerts(session) == []


def test_dismissing_a_failed_job_ends_its_alert(database: Database):
    h = make_harness(database, running=True)
    engine = AlertEngine(database, h.scheduler.clock, agent_version=VERSION)
    h.gateway.script("unmount_target", ScriptedReply(error="exit 1"))
    h.scheduler.request_state(h.target("fs1-OST0001"), "unmounted", actor="a", confirmed=True)
    for event in h.events:
        if isinstance(event, JobChanged) and event.state.finished:
            engine.job_finished(event.job_id)
    with database.session() as session:
        [alert] = list_alerts(session)
    engine.dismiss(alert.id, actor="bob")
    with database.session() as session:
        assert list_alerts(session) == []
        [ended] = list_alerts(session, active_only=False)
    assert ended.dismissed_by == "bob" and not ended.active
