"""The simulated cluster behind the real agent: the layout, the Lustre commands the real actions
build (run through the real dispatcher), refusals, failover and recovery, faults, persistence,
determinism and the control channel. Time is a Clock; nothing sleeps."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from agentlink.daemon.dispatch import ActionDispatcher, CommandResult
from agentlink.daemon.lustre_actions import command_lines
from agentlink.simulator import (
    Fault,
    LayoutError,
    ServerEvent,
    ServerOfflineError,
    SimulatedCluster,
    SimulatedServer,
    SimulatorStateError,
    UnknownFaultError,
    UnknownServerError,
    build_layout,
    request_fault,
)
from agentlink.simulator.model import GIB, MDT_BYTES, MGT_BYTES, OST_BYTES, LunPurpose
from agentlink.wire import Message, Op
from tests.test_layers import import_all

EPOCH = 1_700_000_000.0
MGS_NIDS = [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]]
MDS_PAIR = [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]]
OSS12_PAIR = [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"]]


class Harness:
    """A simulated cluster with one real ActionDispatcher per server, driven by a Clock."""

    def __init__(self, state_dir: Path | None = None, *, seed: int = 3, servers: int = 8) -> None:
        self.clock = Clock()
        self.cluster = SimulatedCluster.create(
            clock=self.clock, wall=self.wall, seed=seed, server_count=servers, state_dir=state_dir
        )
        self.dispatchers = {
            name: ActionDispatcher(server) for name, server in self.cluster.servers.items()
        }
        self._ids = itertools.count(1)
        self.events: list[tuple[str, ServerEvent]] = []
        self.cluster.add_observer(
            lambda server, event: self.events.append((server.hostname, event))
        )

    def wall(self) -> float:
        return EPOCH + self.clock.seconds()

    def server(self, name: str) -> SimulatedServer:
        return self.cluster.server(name)

    def run_until(self, done: Callable[[], bool], what: str) -> None:
        """Advance the clock from one scheduled call to the next until `done()`."""
        while not done():
            due = [call.getTime() for call in self.clock.getDelayedCalls() if call.active()]
            if not due:
                raise AssertionError(f"nothing left to run, and still waiting for {what}")
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))

    def act(self, host: str, action: str, **args: Any) -> dict[str, Any]:
        number = next(self._ids)
        body = {"action_id": f"action-{number}", "action": action, "args": args}
        message = Message(Op.REQUEST, number, body)
        outcome: list[dict[str, Any]] = []
        defer.maybeDeferred(self.dispatchers[host].handle, message).addCallback(outcome.append)
        self.run_until(lambda: bool(outcome), f"{action} on {host}")
        return outcome[0]

    def ok(self, host: str, action: str, **args: Any) -> dict[str, Any]:
        answer = self.act(host, action, **args)
        assert answer["state"] == "succeeded", answer
        return answer

    def command(self, host: str, argv: list[str]) -> CommandResult:
        result: list[CommandResult] = []
        self.server(host).run(argv).addCallback(result.append)
        self.run_until(lambda: bool(result), " ".join(argv))
        return result[0]

    def device(self, host: str, purpose: LunPurpose, number: int = 0) -> str:
        luns = [lun for lun in self.cluster.model.visible_luns(host) if lun.purpose == purpose]
        return luns[number].path

    def lnet_up(self, *hosts: str) -> None:
        for host in hosts:
            self.ok(host, "load_lnet")
            self.ok(host, "start_lnet")

    def start_mgs(self, host: str = "sim-mds1") -> str:
        device = self.device(host, LunPurpose.MGT)
        self.ok(host, "format_target", device=device, kind="MGT", service_nids=MDS_PAIR)
        self.ok(host, "configure_target_mount", mount_point="/mnt/mgt")
        self.ok(host, "mount_target", device=device, mount_point="/mnt/mgt")
        return device

    def add_target(
        self, host: str, kind: str, index: int, number: int, service: list[list[str]]
    ) -> tuple[str, str]:
        purpose = LunPurpose.MDT if kind == "MDT" else LunPurpose.OST
        device = self.device(host, purpose, number)
        mount_point = f"/mnt/demo-{kind}{index:04x}"
        self.ok(
            host,
            "format_target",
            device=device,
            kind=kind,
            fsname="demo",
            index=index,
            mgs_nids=MGS_NIDS,
            service_nids=service,
        )
        self.ok(host, "register_target", device=device, mount_point=mount_point)
        self.ok(host, "mount_target", device=device, mount_point=mount_point)
        return device, mount_point

    def start_filesystem(self) -> dict[str, tuple[str, str]]:
        """demo: MGS and MDT0000 on sim-mds1, OST0000 and OST0001 on sim-oss1."""
        self.lnet_up("sim-mds1", "sim-oss1", "sim-oss2")
        self.start_mgs()
        return {
            "demo-MDT0000": self.add_target("sim-mds1", "MDT", 0, 0, MDS_PAIR),
            "demo-OST0000": self.add_target("sim-oss1", "OST", 0, 0, OSS12_PAIR),
            "demo-OST0001": self.add_target("sim-oss1", "OST", 1, 1, OSS12_PAIR),
        }

    def collect(self, host: str, after_s: float = 10.0) -> list[dict[str, Any]]:
        self.clock.advance(after_s)
        return [dict(record) for record in self.server(host).collect(self.wall())]


def stats(records: list[dict[str, Any]], subject: str) -> dict[str, float]:
    return {
        r["metric"]: r["value"] for r in records if r["kind"] == "stat" and r["subject"] == subject
    }


def messages(records: list[dict[str, Any]]) -> list[str]:
    return [r["message"] for r in records if r["kind"] == "log"]


def mounts(server: SimulatedServer) -> dict[str, str]:
    return {m["label"]: m["recovery"] for m in server.lustre_state()["mounts"]}


# --- layout ------------------------------------------------------------------------------------


def test_the_default_layout_is_an_mds_pair_and_three_oss_pairs_sharing_their_luns():
    model = build_layout(seed=0, now=EPOCH)
    assert list(model.servers) == ["sim-mds1", "sim-mds2"] + [f"sim-oss{i}" for i in range(1, 7)]
    assert model.servers["sim-oss3"].nids == ["10.0.0.5@tcp"]
    assert model.servers["sim-oss3"].partner == "sim-oss4"
    for first, second in (("sim-mds1", "sim-mds2"), ("sim-oss5", "sim-oss6")):
        shared = [lun for lun in model.visible_luns(first) if lun.purpose != LunPurpose.SYSTEM]
        assert shared == [
            lun for lun in model.visible_luns(second) if lun.purpose != LunPurpose.SYSTEM
        ]
    mds = [lun for lun in model.visible_luns("sim-mds1") if lun.purpose != LunPurpose.SYSTEM]
    assert [(lun.purpose, lun.size_bytes) for lun in mds] == [
        (LunPurpose.MGT, MGT_BYTES),
        (LunPurpose.MDT, MDT_BYTES),
        (LunPurpose.MDT, MDT_BYTES),
    ]
    osts = [lun for lun in model.visible_luns("sim-oss1") if lun.purpose == LunPurpose.OST]
    assert len(osts) == 4 and {lun.size_bytes for lun in osts} == {OST_BYTES}
    serials = {host: {lun.serial for lun in model.visible_luns(host)} for host in model.servers}
    assert not serials["sim-oss1"] & serials["sim-oss3"]
    system = [lun for lun in model.visible_luns("sim-oss1") if lun.purpose == LunPurpose.SYSTEM]
    assert len(system) == 1 and system[0].hosts == ["sim-oss1"]


def test_both_servers_of_a_pair_report_each_lun_with_one_serial_and_path():
    harness = Harness()
    on_oss1 = {d["serial"]: d for d in harness.server("sim-oss1").devices()}
    on_oss2 = {d["serial"]: d for d in harness.server("sim-oss2").devices()}
    shared = set(on_oss1) & set(on_oss2)
    assert len(shared) == 4
    for serial in shared:
        assert on_oss1[serial]["path"] == on_oss2[serial]["path"]
        assert on_oss1[serial]["path"] == f"/dev/disk/by-id/scsi-{serial}"
        assert on_oss1[serial]["filesystem"] is None and on_oss1[serial]["label"] is None
    (system,) = set(on_oss1) - shared
    assert on_oss1[system]["filesystem"] == "xfs"
    assert on_oss1[system]["size_bytes"] < 1000 * GIB


@pytest.mark.parametrize("count", [0, 3, 1000])
def test_a_layout_needs_an_even_number_of_servers(count):
    with pytest.raises(LayoutError, match="even number of servers"):
        build_layout(server_count=count, now=EPOCH)


def test_a_small_cluster_is_pairs_and_one_pair_alone_also_gets_osts():
    four = build_layout(server_count=4, now=EPOCH)
    assert list(four.servers) == ["sim-mds1", "sim-mds2", "sim-oss1", "sim-oss2"]
    two = build_layout(server_count=2, now=EPOCH)
    purposes = {lun.purpose for lun in two.visible_luns("sim-mds2")}
    assert {LunPurpose.MGT, LunPurpose.MDT, LunPurpose.OST} <= purposes


# --- a filesystem through the real actions -----------------------------------------------------


def test_a_filesystem_formats_registers_and_starts_through_the_real_actions():
    harness = Harness()
    targets = harness.start_filesystem()
    mds1, oss1 = harness.server("sim-mds1"), harness.server("sim-oss1")
    assert mounts(mds1) == {"MGS": "COMPLETE", "demo-MDT0000": "COMPLETE"}
    assert mounts(oss1) == {"demo-OST0000": "COMPLETE", "demo-OST0001": "COMPLETE"}
    state = oss1.lustre_state()
    assert state["lnet"] == "up" and state["nids"] == ["10.0.0.3@tcp"]
    device, mount_point = targets["demo-OST0001"]
    assert {"label": "demo-OST0001", "device": device, "mount_point": mount_point}.items() <= (
        state["mounts"][1].items()
    )
    # The partner sees the same devices, labelled, though it runs none of them.
    labels = {d["path"]: d["label"] for d in harness.server("sim-oss2").devices()}
    assert labels[device] == "demo-OST0001"
    assert harness.server("sim-oss2").lustre_state()["mounts"] == []
    mgt = next(lun for lun in harness.cluster.model.luns.values() if lun.purpose == "MGT")
    assert mgt.target is not None
    assert sorted(mgt.target.registry["demo"].targets) == [
        "demo-MDT0000",
        "demo-OST0000",
        "demo-OST0001",
    ]
    for server in harness.cluster.servers.values():
        assert server.not_understood == []


def test_format_reports_the_uuid_and_inode_geometry_the_desktop_reads():
    harness = Harness()
    device = harness.device("sim-oss1", LunPurpose.OST)
    answer = harness.ok(
        "sim-oss1",
        "format_target",
        device=device,
        kind="OST",
        fsname="demo",
        index=3,
        mgs_nids=MGS_NIDS,
        inode_size=1024,
        bytes_per_inode=4 * 1024 * 1024,
    )
    assert "Target:     demo:OST0003" in answer["stdout"]
    assert "Flags:      0x62" in answer["stdout"]
    uuid = next(line for line in answer["stdout"].splitlines() if line.count("-") == 4)
    assert f"Filesystem UUID:          {uuid}" in answer["stdout"]
    assert "Inode size:\t          1024" in answer["stdout"]
    assert f"Inode count:              {OST_BYTES // (4 * 1024 * 1024)}" in answer["stdout"]
    assert "dumpe2fs 1.47" in answer["stderr"]
    # Until its first mount the label says which target it will be, with a colon.
    labels = {d["path"]: d["label"] for d in harness.server("sim-oss1").devices()}
    assert labels[device] == "demo:OST0003"


def test_formatting_takes_simulated_time_and_an_ost_takes_longest():
    harness = Harness()
    device = harness.device("sim-oss1", LunPurpose.OST)
    argv = command_lines(
        "format_target",
        {"device": device, "kind": "OST", "fsname": "demo", "index": 0, "mgs_nids": MGS_NIDS},
    )[0]
    result: list[CommandResult] = []
    harness.server("sim-oss1").run(argv).addCallback(result.append)
    harness.clock.advance(30)
    assert result == []
    harness.clock.advance(15)
    assert result and result[0].exit_code == 0


def test_a_target_without_an_index_gets_the_next_free_one_when_it_registers():
    harness = Harness()
    harness.lnet_up("sim-mds1", "sim-oss1")
    harness.start_mgs()
    harness.add_target("sim-mds1", "MDT", 0, 0, MDS_PAIR)
    harness.add_target("sim-oss1", "OST", 0, 0, OSS12_PAIR)
    device = harness.device("sim-oss1", LunPurpose.OST, 1)
    argv = ["mkfs.lustre", "--ost", "--fsname=demo", "--mgsnode=10.0.0.1@tcp", device]
    assert harness.command("sim-oss1", argv).exit_code == 0
    labels = {d["path"]: d["label"] for d in harness.server("sim-oss1").devices()}
    assert labels[device] == "demo:OSTffff"
    answer = harness.ok("sim-oss1", "register_target", device=device, mount_point="/mnt/x")
    assert answer["stdout"].splitlines()[-1] == "demo-OST0001"


# --- refusals ----------------------------------------------------------------------------------


def test_a_target_will_not_mount_while_no_mgs_runs():
    harness = Harness()
    harness.lnet_up("sim-mds1", "sim-oss1")
    harness.start_mgs()
    harness.ok("sim-mds1", "unmount_target", mount_point="/mnt/mgt")
    device = harness.device("sim-oss1", LunPurpose.OST)
    harness.ok(
        "sim-oss1",
        "format_target",
        device=device,
        kind="OST",
        fsname="demo",
        index=0,
        mgs_nids=MGS_NIDS,
    )
    answer = harness.act("sim-oss1", "register_target", device=device, mount_point="/mnt/ost0")
    assert answer["state"] == "failed"
    assert answer["error"] == (
        "mount -t failed: the MGS could not be reached: check that the MGS target is mounted "
        "and that LNet is up on both servers (`lctl ping <MGS NID>` from this server). "
        "mount exited with 5: Is the MGS running?"
    )
    assert (
        f"mount.lustre: mount {device} at /mnt/ost0 failed: Input/output error" in answer["stderr"]
    )
    # The MGS's partner can run it: the OST's --mgsnode names both.
    harness.lnet_up("sim-mds2")
    harness.ok("sim-mds2", "configure_target_mount", mount_point="/mnt/mgt")
    mgt = harness.device("sim-mds2", LunPurpose.MGT)
    harness.ok("sim-mds2", "mount_target", device=mgt, mount_point="/mnt/mgt")
    harness.ok("sim-oss1", "register_target", device=device, mount_point="/mnt/ost0")


def test_a_target_will_not_mount_while_lnet_is_down():
    harness = Harness()
    harness.lnet_up("sim-mds1")
    harness.start_mgs()
    device = harness.device("sim-mds1", LunPurpose.MDT)
    harness.ok(
        "sim-mds1",
        "format_target",
        device=device,
        kind="MDT",
        fsname="demo",
        index=0,
        mgs_nids=MGS_NIDS,
    )
    harness.ok("sim-mds2", "load_lnet")  # loaded, but the network is not up
    harness.ok("sim-mds2", "configure_target_mount", mount_point="/mnt/mdt")
    result = harness.command("sim-mds2", ["mount", "-t", "lustre", device, "/mnt/mdt"])
    assert result.exit_code == 100
    assert result.stderr == f"mount.lustre: mount {device} at /mnt/mdt failed: Network is down\n"


def test_a_target_runs_on_one_node_of_its_pair_at_a_time():
    harness = Harness()
    targets = harness.start_filesystem()
    device, mount_point = targets["demo-OST0000"]
    harness.ok("sim-oss2", "configure_target_mount", mount_point=mount_point)
    answer = harness.act("sim-oss2", "mount_target", device=device, mount_point=mount_point)
    assert answer["state"] == "failed"
    assert (
        f"mount {device} at {mount_point} failed: Operation already in progress"
        in (answer["stderr"])
    )
    assert answer["error"].endswith(f"The target service is already running. ({device})")
    # Mounting it twice on its own node is refused too, differently.
    again = harness.command("sim-oss1", ["mount", "-t", "lustre", device, mount_point])
    assert "is already mounted on" in again.stderr


def test_an_unformatted_device_does_not_mount_and_a_formatted_one_is_not_reformatted():
    harness = Harness()
    harness.lnet_up("sim-mds1")
    blank = harness.device("sim-mds1", LunPurpose.MDT, 1)
    harness.ok("sim-mds1", "configure_target_mount", mount_point="/mnt/blank")
    answer = harness.act("sim-mds1", "mount_target", device=blank, mount_point="/mnt/blank")
    assert answer["state"] == "failed"
    assert "has not been formatted with mkfs.lustre" in answer["error"]
    device = harness.start_mgs()
    again = harness.act("sim-mds1", "format_target", device=device, kind="MGT")
    assert "is apparently in use by the system" in again["stderr"], "it is mounted"
    harness.ok("sim-mds1", "unmount_target", mount_point="/mnt/mgt")
    again = harness.act("sim-mds1", "format_target", device=device, kind="MGT")
    assert again["state"] == "failed"
    assert "was previously formatted for lustre. Use --reformat" in again["stderr"]
    harness.ok("sim-mds1", "format_target", device=device, kind="MGT", reformat=True)


def test_a_reformatted_target_cannot_take_an_index_the_mgs_has_given_away():
    harness = Harness()
    targets = harness.start_filesystem()
    device, mount_point = targets["demo-OST0001"]
    harness.ok("sim-oss1", "unmount_target", mount_point=mount_point)
    harness.ok(
        "sim-oss1",
        "format_target",
        device=device,
        kind="OST",
        fsname="demo",
        index=1,
        mgs_nids=MGS_NIDS,
        reformat=True,
    )
    answer = harness.act("sim-oss1", "register_target", device=device, mount_point=mount_point)
    assert answer["error"].endswith(f"The target service's index is already in use. ({device})")
    assert "Address already in use" in answer["stderr"]


def test_a_device_another_server_cannot_see_is_not_there_for_it():
    harness = Harness()
    device = harness.device("sim-oss3", LunPurpose.OST)
    answer = harness.act("sim-oss1", "format_target", device=device, kind="MGT")
    assert answer["state"] == "failed"
    assert answer["error"].endswith("exiting with 2 (No such file or directory)")


def test_lnet_will_not_stop_or_unload_under_mounted_targets():
    harness = Harness()
    harness.start_filesystem()
    stop = harness.act("sim-oss1", "stop_lnet")
    assert stop["state"] == "failed"
    assert stop["error"].startswith(
        "lustre_rmmod ptlrpc failed: the modules are still in use: unmount every Lustre target "
        "and client first. lustre_rmmod exited with 1: rmmod: ERROR: Module"
    )
    assert harness.act("sim-oss1", "unload_lnet")["state"] == "failed"
    harness.ok("sim-oss1", "unmount_target", mount_point="/mnt/demo-OST0000")
    harness.ok("sim-oss1", "unmount_target", mount_point="/mnt/demo-OST0001")
    harness.ok("sim-oss1", "stop_lnet")
    assert harness.server("sim-oss1").lustre_state()["lnet"] == "loaded"
    assert harness.server("sim-oss1").lustre_state()["nids"] == []
    harness.ok("sim-oss1", "unload_lnet")
    assert harness.server("sim-oss1").lustre_state()["lnet"] == "unloaded"
    start = harness.act("sim-oss1", "start_lnet")
    assert "the kernel modules may not be loaded" in start["stderr"]


def test_commands_the_simulator_does_not_know_exit_127():
    harness = Harness()
    result = harness.command("sim-oss1", ["tunefs.lustre", "--writeconf", "/dev/sdb"])
    assert (result.exit_code, result.stderr) == (127, "tunefs.lustre: command not found\n")
    assert harness.server("sim-oss1").not_understood == [
        ("tunefs.lustre", "--writeconf", "/dev/sdb")
    ]
    assert harness.command("sim-oss1", ["lctl", "--version"]).stdout.startswith("lctl 2.15")


# --- MGS configuration -------------------------------------------------------------------------


def test_conf_params_and_pools_live_on_the_mgs_and_need_it_mounted_here():
    harness = Harness()
    harness.start_filesystem()
    harness.ok("sim-mds1", "set_conf_param", key="demo.sys.timeout", value="40")
    harness.ok("sim-mds1", "set_conf_param", key="demo-OST0001.osc.active", value="0")
    mgt = next(lun for lun in harness.cluster.model.luns.values() if lun.purpose == "MGT")
    assert mgt.target is not None
    assert mgt.target.registry["demo"].params == {
        "demo.sys.timeout": "40",
        "demo-OST0001.osc.active": "0",
    }
    harness.ok("sim-mds1", "set_conf_param", key="demo.sys.timeout", value=None)
    assert "demo.sys.timeout" not in mgt.target.registry["demo"].params
    elsewhere = harness.act("sim-oss1", "set_conf_param", key="demo.sys.timeout", value="40")
    assert (
        elsewhere["error"] == "lctl conf_param failed: this must run on the server where the MGS "
        "is mounted. lctl exited with 1: conf_param: this server runs no MGS"
    )
    unknown = harness.act("sim-mds1", "set_conf_param", key="other.sys.timeout", value="40")
    assert unknown["error"].endswith("error: conf_param: No such file or directory")

    harness.ok("sim-mds1", "pool_new", fsname="demo", pool="fast")
    assert (
        "already exists"
        in harness.act("sim-mds1", "pool_new", fsname="demo", pool="fast")["stderr"]
    )
    added = harness.ok("sim-mds1", "pool_add", fsname="demo", pool="fast", osts=["demo-OST0000"])
    assert added["stdout"] == "OST demo-OST0000 added to pool demo.fast\n"
    stranger = harness.act(
        "sim-mds1", "pool_add", fsname="demo", pool="fast", osts=["demo-OST0009"]
    )
    assert "demo-OST0009 is not part of the 'demo' fs." in stranger["stderr"]
    full = harness.act("sim-mds1", "pool_destroy", fsname="demo", pool="fast")
    assert "not empty, please remove all members" in full["stderr"]
    harness.ok("sim-mds1", "pool_remove", fsname="demo", pool="fast", osts=["demo-OST0000"])
    harness.ok("sim-mds1", "pool_destroy", fsname="demo", pool="fast")
    assert mgt.target.registry["demo"].pools == {}


def test_a_filesystem_is_purged_from_the_mgs_only_once_its_targets_are_stopped():
    harness = Harness()
    targets = harness.start_filesystem()
    busy = harness.act("sim-mds1", "purge_filesystem", fsname="demo")
    assert (
        busy["error"] == "lctl erase_lcfg failed: the filesystem is still running: stop its MDTs "
        "and OSTs before erasing its logs. lctl exited with 1: error: erase_lcfg: Device or "
        "resource busy"
    )
    for label, (_, mount_point) in targets.items():
        host = "sim-mds1" if "MDT" in label else "sim-oss1"
        harness.ok(host, "unmount_target", mount_point=mount_point)
    harness.ok("sim-mds1", "purge_filesystem", fsname="demo")
    records = harness.collect("sim-mds1")
    assert any("Logs for fs demo were removed by user request" in m for m in messages(records))
    harness.ok("sim-mds1", "purge_filesystem", fsname="demo")  # already gone: still fine


# --- statistics and logs -----------------------------------------------------------------------


def test_a_running_filesystem_reports_growing_io_and_filling_osts():
    harness = Harness()
    harness.start_filesystem()
    harness.collect("sim-mds1", after_s=60)
    harness.collect("sim-oss1", after_s=0)
    first = stats(harness.collect("sim-oss1"), "demo-OST0000")
    for _ in range(30):
        harness.collect("sim-oss1")
    later = stats(harness.collect("sim-oss1"), "demo-OST0000")
    assert later["write_bytes"] > first["write_bytes"] > 0
    assert later["read_bytes"] > first["read_bytes"]
    assert later["kbytesfree"] < first["kbytesfree"] < first["kbytestotal"]
    assert later["filesfree"] <= first["filesfree"]
    clients = later["num_exports"] - 1  # one MDT connects to each OST too
    assert 5 <= clients <= 60
    mdt = stats(harness.collect("sim-mds1"), "demo-MDT0000")
    assert mdt["num_exports"] == pytest.approx(clients + 1, abs=3)
    assert mdt["open"] > 0 and mdt["getattr"] > mdt["rmdir"]
    node = stats(harness.collect("sim-oss1"), "node")
    assert node["cpu_total"] > node["cpu_idle"] > node["cpu_system"] > 0
    assert 0 < node["mem_MemFree"] < node["mem_MemTotal"]
    assert stats(harness.collect("sim-oss1"), "lnet")["send_count"] > 0


def test_collect_reports_syslog_lines_since_the_last_call_once():
    harness = Harness()
    harness.start_filesystem()
    lines = messages(harness.collect("sim-oss1"))
    assert "LNet: Added LNI 10.0.0.3@tcp [8/256/0/180]" in lines
    assert "Lustre: demo-OST0000: new disk, initializing" in lines
    assert "Lustre: server umount demo-OST0000 complete" in lines  # the register mount
    assert "LNet: Added LNI 10.0.0.3@tcp [8/256/0/180]" not in messages(harness.collect("sim-oss1"))


def test_a_busy_filesystem_logs_the_odd_eviction_and_reconnect():
    harness = Harness()
    harness.start_filesystem()
    lines: list[str] = []
    for _ in range(240):  # two hours
        lines += messages(harness.collect("sim-oss1", after_s=30))
    evictions = [line for line in lines if "evicting client at 10.0.1" in line]
    reconnects = [line for line in lines if line.endswith("@tcp) reconnecting")]
    assert evictions and reconnects
    assert all(line.startswith("LustreError: ") for line in evictions)


def test_a_client_mount_counts_among_the_exports_and_needs_a_known_filesystem():
    harness = Harness()
    harness.start_filesystem()
    harness.lnet_up("sim-oss5")
    source = "10.0.0.1@tcp0:10.0.0.2@tcp0:/demo"
    before = stats(harness.collect("sim-oss1", after_s=60), "demo-OST0000")["num_exports"]
    harness.ok("sim-oss5", "mount_client", source=source, mount_point="/mnt/demo")
    after = stats(harness.collect("sim-oss1", after_s=0), "demo-OST0000")["num_exports"]
    assert after == before + 1
    wrong = harness.act("sim-oss5", "mount_client", source=source[:-4] + "nope", mount_point="/x")
    assert wrong["error"].endswith(
        "If upgrading, is the copied client log valid? (see upgrade docs)"
    )
    assert "Is the filesystem name correct?" in wrong["stderr"]
    harness.ok("sim-oss5", "unmount_client", mount_point="/mnt/demo")
    assert stats(harness.collect("sim-oss1", after_s=0), "demo-OST0000")["num_exports"] == before


def test_everything_the_observers_report_crosses_the_wire_as_plain_data():
    harness = Harness()
    harness.start_filesystem()
    server = harness.server("sim-oss1")
    payload = {"d": server.devices(), "l": server.lustre_state(), "c": server.collect(EPOCH + 1e4)}
    assert msgpack.unpackb(msgpack.packb(payload)) == json.loads(json.dumps(payload))


def test_the_same_seed_gives_the_same_records_and_another_seed_does_not():
    def run(seed: int) -> list[list[dict[str, Any]]]:
        harness = Harness(seed=seed)
        harness.start_filesystem()
        out = []
        for _ in range(40):
            out.append(harness.collect("sim-oss1", after_s=15))
            out.append(harness.collect("sim-mds1", after_s=0))
        return out

    first, second, other = run(7), run(7), run(8)
    assert first == second
    assert first != other


# --- failover, crashes and faults --------------------------------------------------------------


def test_after_a_crash_the_partner_takes_the_target_over_and_recovers_its_clients():
    harness = Harness()
    targets = harness.start_filesystem()
    harness.collect("sim-oss1", after_s=60)  # clients connect
    device, mount_point = targets["demo-OST0000"]
    oss1 = harness.server("sim-oss1")
    pending: list[CommandResult] = []
    oss1.run(["lctl", "--version"]).addCallback(pending.append)
    assert "went away" in harness.cluster.fault("sim-oss1", "crash")
    assert not oss1.online
    assert ("sim-oss1", ServerEvent.CRASHED) in harness.events
    with pytest.raises(ServerOfflineError, match="sim-oss1 has crashed"):
        oss1.lustre_state()
    harness.clock.advance(600)
    assert pending == [], "a crashed server never answers"
    mgs_lines = messages(harness.collect("sim-mds1", after_s=0))
    assert any("(at 10.0.0.3@tcp) in 229 seconds. I think it's dead" in m for m in mgs_lines)

    harness.lnet_up("sim-oss2")
    harness.ok("sim-oss2", "configure_target_mount", mount_point=mount_point)
    harness.ok("sim-oss2", "mount_target", device=device, mount_point=mount_point)
    oss2 = harness.server("sim-oss2")
    assert mounts(oss2) == {"demo-OST0000": "RECOVERING"}
    lines = messages(harness.collect("sim-oss2", after_s=1))
    assert any("Will be in recovery for at least 5:00, or until" in line for line in lines)
    harness.clock.advance(200)
    assert mounts(oss2) == {"demo-OST0000": "COMPLETE"}
    assert any("Recovery over after" in line for line in messages(harness.collect("sim-oss2")))


def test_a_crashed_server_keeps_its_devices_and_boots_empty_when_restored():
    harness = Harness()
    harness.start_filesystem()
    oss1 = harness.server("sim-oss1")
    boot_before = oss1.lustre_state()["boot_time"]
    harness.cluster.fault("sim-oss1", Fault.CRASH)
    harness.clock.advance(300)
    assert harness.cluster.fault("sim-oss1", "restore") == "sim-oss1 booted again"
    state = oss1.lustre_state()
    assert state["lnet"] == "unloaded" and state["mounts"] == []
    assert state["boot_time"] == EPOCH + harness.clock.seconds() > boot_before
    labels = sorted(d["label"] for d in oss1.devices() if d["label"])
    assert labels == ["demo-OST0000", "demo-OST0001"]
    assert ("sim-oss1", ServerEvent.BOOTED) in harness.events
    assert any(line.startswith("Linux version") for line in messages(harness.collect("sim-oss1")))


def test_power_off_and_on_is_a_reboot_and_power_on_leaves_a_running_server_alone():
    harness = Harness()
    oss1 = harness.server("sim-oss1")
    assert harness.cluster.fault("sim-oss1", "power-on") == "sim-oss1 is already powered on"
    harness.cluster.fault("sim-oss1", "power-off")
    assert not oss1.online
    assert harness.events == [("sim-oss1", ServerEvent.POWERED_OFF)]
    with pytest.raises(ServerOfflineError, match="powered off"):
        oss1.devices()
    harness.clock.advance(50)
    harness.cluster.fault("sim-oss1", "power-on")
    assert oss1.online and oss1.lustre_state()["boot_time"] == EPOCH + 50


def test_restore_clears_faults_but_does_not_reboot_a_running_server():
    harness = Harness()
    harness.start_filesystem()
    harness.cluster.fault("sim-oss1", "slow")
    harness.cluster.fault("sim-oss1", "restore")
    assert mounts(harness.server("sim-oss1")) == {
        "demo-OST0000": "COMPLETE",
        "demo-OST0001": "COMPLETE",
    }
    start = harness.clock.seconds()
    harness.ok("sim-oss1", "load_lnet")
    assert harness.clock.seconds() - start < 5


def test_a_slow_server_takes_ten_times_as_long():
    harness = Harness()
    start = harness.clock.seconds()
    harness.ok("sim-oss1", "load_lnet")
    normal = harness.clock.seconds() - start
    harness.cluster.fault("sim-oss2", "slow")
    start = harness.clock.seconds()
    harness.ok("sim-oss2", "load_lnet")
    assert harness.clock.seconds() - start == pytest.approx(10 * normal)


def test_fail_next_action_fails_one_command_like_a_failing_disk():
    harness = Harness()
    harness.lnet_up("sim-mds1")
    harness.cluster.fault("sim-mds1", "fail-next-action")
    device = harness.device("sim-mds1", LunPurpose.MGT)
    answer = harness.act("sim-mds1", "format_target", device=device, kind="MGT")
    assert answer["state"] == "failed"
    assert answer["error"] == (
        "mkfs.lustre --mgs exited with 5: mkfs.lustre: exiting with 5 (Input/output error)"
    )
    assert any("I/O error, dev dm-0" in line for line in messages(harness.collect("sim-mds1")))
    harness.ok("sim-mds1", "format_target", device=device, kind="MGT")


def test_a_full_disk_reports_no_free_space_and_refuses_writes():
    harness = Harness()
    harness.start_filesystem()
    harness.collect("sim-oss1", after_s=60)
    harness.cluster.fault("sim-oss1", "disk-full")
    before = stats(harness.collect("sim-oss1"), "demo-OST0000")
    records: list[dict[str, Any]] = []
    for _ in range(20):
        records += harness.collect("sim-oss1", after_s=30)
    after = stats(records[-60:], "demo-OST0000")
    assert after["kbytesfree"] == 0 and after["kbytesavail"] == 0
    assert after["write_bytes"] == before["write_bytes"]
    assert after["read_bytes"] > before["read_bytes"]
    assert any("No space left on device" in line for line in messages(records))
    mdt = stats(harness.collect("sim-mds1"), "demo-MDT0000")
    assert mdt["kbytesfree"] > 0, "only the OSTs on the faulty server are full"


def test_drop_link_tells_the_network_layer_and_leaves_the_server_running():
    harness = Harness()
    oss1 = harness.server("sim-oss1")
    assert oss1.link_drops == 0
    harness.cluster.fault("sim-oss1", "drop-link")
    assert oss1.link_drops == 1 and oss1.online
    assert harness.events == [("sim-oss1", ServerEvent.LINK_DROPPED)]
    harness.ok("sim-oss1", "load_lnet")


def test_unknown_faults_and_servers_name_the_valid_ones():
    harness = Harness()
    with pytest.raises(UnknownFaultError, match="crash, restore, power-off, power-on, drop-link"):
        harness.cluster.fault("sim-oss1", "explode")
    with pytest.raises(UnknownServerError, match="sim-mds1, sim-mds2, sim-oss1"):
        harness.cluster.fault("oss1", "crash")


# --- persistence and the control channel -------------------------------------------------------


def test_a_cluster_survives_a_restart_of_the_simulator(tmp_path):
    harness = Harness(tmp_path)
    harness.start_filesystem()
    harness.collect("sim-oss1", after_s=60)
    written = stats(harness.collect("sim-oss1"), "demo-OST0000")["write_bytes"]
    harness.cluster.fault("sim-oss6", "crash")
    harness.cluster.stop()
    assert json.loads((tmp_path / "cluster.json").read_text())["format"] == 1
    before = {
        name: (server.devices(), server.lustre_state())
        for name, server in harness.cluster.servers.items()
        if server.online
    }

    clock = Clock()
    reopened = SimulatedCluster.open(tmp_path, clock=clock, wall=lambda: EPOCH + 1e5)
    after = {
        name: (server.devices(), server.lustre_state())
        for name, server in reopened.servers.items()
        if server.online
    }
    assert after == before
    assert not reopened.server("sim-oss6").online
    # Counters carry on from where they were, so rates stay sane across the restart.
    records = [dict(r) for r in reopened.server("sim-oss1").collect(EPOCH + 1e5)]
    assert stats(records, "demo-OST0000")["write_bytes"] > written > 0


def test_opening_a_state_dir_with_another_seed_or_a_damaged_file_is_refused(tmp_path):
    SimulatedCluster.open(tmp_path, clock=Clock(), wall=lambda: EPOCH, seed=4)
    with pytest.raises(SimulatorStateError, match="made with seed 4, not 5"):
        SimulatedCluster.open(tmp_path, clock=Clock(), seed=5)
    with pytest.raises(SimulatorStateError, match="8 servers, not 4"):
        SimulatedCluster.open(tmp_path, clock=Clock(), server_count=4)
    (tmp_path / "cluster.json").write_text('{"format": 1, "seed": 4}')
    with pytest.raises(SimulatorStateError, match="damaged"):
        SimulatedCluster.open(tmp_path, clock=Clock())


def test_another_process_requests_faults_through_the_state_dir(tmp_path):
    harness = Harness(tmp_path)
    harness.cluster.start(interval_s=1.0)
    request_fault(tmp_path, "sim-oss2", "crash")
    request_fault(tmp_path, "sim-oss2", "restore")
    request_fault(tmp_path, "sim-oss3", "slow")
    assert len(list((tmp_path / "requests").iterdir())) == 3
    harness.clock.advance(1.0)
    assert harness.events == [
        ("sim-oss2", ServerEvent.CRASHED),
        ("sim-oss2", ServerEvent.BOOTED),
    ]
    assert harness.cluster.model.servers["sim-oss3"].slow
    assert list((tmp_path / "requests").iterdir()) == []
    harness.cluster.stop()
    saved = json.loads((tmp_path / "cluster.json").read_text())
    assert [s["slow"] for s in saved["servers"] if s["hostname"] == "sim-oss3"] == [True]


def test_a_bad_request_is_refused_before_it_reaches_the_simulator(tmp_path):
    with pytest.raises(SimulatorStateError, match="no simulated cluster in"):
        request_fault(tmp_path, "sim-oss1", "crash")
    Harness(tmp_path)
    with pytest.raises(UnknownServerError, match="no simulated server 'sim-oss9'"):
        request_fault(tmp_path, "sim-oss9", "crash")
    with pytest.raises(UnknownFaultError, match="unknown fault 'melt'"):
        request_fault(tmp_path, "sim-oss1", "melt")
    assert not (tmp_path / "requests").exists()


def test_an_unreadable_request_file_is_reported_and_removed(tmp_path):
    harness = Harness(tmp_path)
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "0001.json").write_text("not json")
    (tmp_path / "requests" / "0002.json").write_text(
        '{"server": "gone", "action": "crash", "requested_at": 0}'
    )
    outcomes = harness.cluster.poll_control()
    assert [o.applied for o in outcomes] == [False, False]
    assert "unreadable" in outcomes[0].message
    assert "no simulated server 'gone'" in outcomes[1].message
    assert list((tmp_path / "requests").iterdir()) == []


# --- layering ----------------------------------------------------------------------------------


def test_the_simulator_loads_nothing_of_core_the_database_or_qt():
    outcome = import_all(["agentlink.simulator"], {"core", "sqlalchemy", "alembic", "PySide6"})
    assert "agentlink.simulator.cluster" in outcome["imported"]
    loaded = set(outcome["loaded"])
    assert not loaded & {"core", "sqlalchemy", "alembic", "PySide6", "chroma_desktop"}
