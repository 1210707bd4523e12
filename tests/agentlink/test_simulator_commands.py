"""The simulated tools read every argument list the real agent builds, and answer in the real
tools' words: mkfs.lustre's options, blkid's formats, mkdir and rmdir, the MGS's pools."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import Clock

from agentlink.daemon.lustre_actions import ACTIONS, command_lines
from agentlink.daemon.probes.parsers import parse_pool_list, parse_pool_list_members
from agentlink.simulator import SimulatedCluster, SimulatorStateError
from agentlink.simulator.commands import (
    BlkidRequest,
    NotUnderstood,
    Refusal,
    blkid_answer,
    io_error,
    make_directories,
    parse_mkfs,
    parse_mount,
    remove_directories,
)
from agentlink.simulator.mgs import conf_param, erase_lcfg, pool_command, set_param_permanent
from agentlink.simulator.model import FilesystemConfig, TargetKind, normalize_nid

DEVICE = "/dev/disk/by-id/scsi-SIM0001"
SAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "setup_server": {},
    "teardown_server": {},
    "load_lnet": {},
    "start_lnet": {},
    "stop_lnet": {},
    "unload_lnet": {},
    "format_target": {
        "device": DEVICE,
        "kind": "OST",
        "fsname": "fs1",
        "index": 10,
        "mgs_nids": [["10.0.0.1@tcp0", "192.168.0.1@o2ib"], ["10.0.0.2@tcp0"]],
        "service_nids": [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"]],
        "inode_size": 512,
        "bytes_per_inode": 65536,
        "inode_count": 1000,
        "reformat": True,
    },
    "register_target": {"device": DEVICE, "mount_point": "/mnt/fs1-OST000a"},
    "configure_target_mount": {"mount_point": "/mnt/fs1-OST000a"},
    "unconfigure_target_mount": {"mount_point": "/mnt/fs1-OST000a"},
    "mount_target": {"device": DEVICE, "mount_point": "/mnt/fs1-OST000a"},
    "unmount_target": {"mount_point": "/mnt/fs1-OST000a"},
    "set_conf_param": {"key": "fs1.sys.timeout", "value": "40"},
    "purge_filesystem": {"fsname": "fs1"},
    "pool_new": {"fsname": "fs1", "pool": "fast"},
    "pool_add": {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST000a"]},
    "pool_remove": {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST000a"]},
    "pool_destroy": {"fsname": "fs1", "pool": "fast"},
    "mount_client": {"source": "10.0.0.1@tcp0:10.0.0.2@tcp0:/fs1", "mount_point": "/mnt/fs1"},
    "unmount_client": {"mount_point": "/mnt/fs1"},
    "writeconf_target": {
        "device": DEVICE,
        "erase_params": True,
        "mgs_nids": [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]],
        "service_nids": [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"]],
    },
    "set_param_permanent": {"key": "osc.fs1-OST000a-*.max_dirty_mb", "value": "1024"},
}
NOT_SIMULATED_YET = {"writeconf_target"}
"""Actions whose commands the simulator does not read yet (tunefs.lustre): it must learn them,
and then this set empties (the test below fails until it does)."""


def test_every_command_line_of_every_agent_action_is_understood():
    assert set(SAMPLE_ARGS) == set(ACTIONS), "give new actions sample arguments here"
    clock = Clock()
    cluster = SimulatedCluster.create(clock=clock, wall=lambda: 1e9 + clock.seconds())
    server = cluster.server("sim-oss1")
    for action, args in SAMPLE_ARGS.items():
        if action in NOT_SIMULATED_YET:
            continue
        for argv in command_lines(action, args):
            server.run(argv)
            clock.advance(100)
    # Most of these fail (no such device, no MGS here): all the same, each was understood.
    assert server.not_understood == []
    for action in NOT_SIMULATED_YET:
        for argv in command_lines(action, SAMPLE_ARGS[action]):
            server.run(argv)
            clock.advance(100)
    assert server.not_understood, "the simulator reads writeconf now: empty NOT_SIMULATED_YET"


def test_mkfs_options_are_read_as_mkfs_lustre_reads_them():
    argv = command_lines("format_target", SAMPLE_ARGS["format_target"])[0]
    request = parse_mkfs(argv)
    assert request.kind == TargetKind.OST
    assert (request.fsname, request.index, request.device) == ("fs1", 10, DEVICE)
    assert request.mgs_nids == (("10.0.0.1@tcp0", "192.168.0.1@o2ib"), ("10.0.0.2@tcp0",))
    assert request.service_nids == (("10.0.0.3@tcp0",), ("10.0.0.4@tcp0",))
    assert (request.inode_size, request.bytes_per_inode, request.inode_count) == (512, 65536, 1000)
    assert request.reformat and not request.dryrun
    colon = parse_mkfs(["mkfs.lustre", "--ost", "--mgsnode=a@tcp:b@tcp", "--failnode=c@tcp", "x"])
    assert colon.mgs_nids == (("a@tcp",), ("b@tcp",))
    assert colon.fsname == "lustre", "mkfs.lustre's default filesystem name"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mkfs.lustre", DEVICE], "must set target type: MDT,OST,MGS"),
        (["mkfs.lustre", "--ost", DEVICE], "Must specify --mgs or --mgsnode"),
        (["mkfs.lustre", "--mgs"], "Bad arguments"),
        (["mkfs.lustre", "--mgs", "--index=0", DEVICE], "an MGS has no index"),
        (["mkfs.lustre", "--ost", "--index=x", DEVICE], "invalid index 'x'"),
        (
            ["mkfs.lustre", "--ost", "--mgsnode=a", "--servicenode=b", "--failnode=c", DEVICE],
            "can't be mixed",
        ),
    ],
)
def test_mkfs_refuses_what_mkfs_lustre_refuses(argv, message):
    with pytest.raises(Refusal, match=message) as refused:
        parse_mkfs(argv)
    assert not isinstance(refused.value, NotUnderstood)


@pytest.mark.parametrize(
    "argv",
    [
        ["mkfs.lustre", "--mgs", "--mdt", "--fsname=fs1", "--index=0", DEVICE],
        ["mkfs.lustre", "--ost", "--backfstype=zfs", "--mgsnode=a@tcp", "pool/ost0"],
        ["mkfs.lustre", "--ost", "--writeconf", DEVICE],
    ],
)
def test_what_the_simulator_does_not_model_is_said_so(argv):
    with pytest.raises(NotUnderstood):
        parse_mkfs(argv)


def test_mount_tells_client_mounts_from_target_mounts():
    assert parse_mount(["mount", "-t", "lustre", "10.0.0.1@tcp:/fs1", "/mnt/fs1"]).is_client
    target = parse_mount(["mount", "-t", "lustre", "-o", "nosvc,ro", DEVICE, "/mnt/t"])
    assert not target.is_client and target.options == ("nosvc", "ro")
    with pytest.raises(NotUnderstood, match="unknown filesystem type 'xfs'"):
        parse_mount(["mount", "-t", "xfs", DEVICE, "/mnt/t"])


def test_blkid_prints_values_or_tag_lists_like_blkid():
    tags = {"LABEL": "fs1-OST0000", "UUID": "u-1", "TYPE": "ext4"}
    assert blkid_answer(BlkidRequest(True, ("UUID",), (DEVICE,)), DEVICE, tags) == "u-1\n"
    assert blkid_answer(BlkidRequest(False, (), (DEVICE,)), DEVICE, tags) == (
        f'{DEVICE}: LABEL="fs1-OST0000" UUID="u-1" TYPE="ext4"\n'
    )
    assert blkid_answer(BlkidRequest(True, ("LABEL",), (DEVICE,)), DEVICE, {}) == ""


def test_mkdir_and_rmdir_keep_track_of_directories():
    made = make_directories(["mkdir", "-p", "/mnt/a/b"], ["/", "/mnt"])
    assert made == ["/", "/mnt", "/mnt/a", "/mnt/a/b"]
    with pytest.raises(Refusal, match="File exists"):
        make_directories(["mkdir", "/mnt/a"], made)
    with pytest.raises(Refusal, match="No such file or directory"):
        make_directories(["mkdir", "/srv/x"], made)
    ignore = "--ignore-fail-on-non-empty"
    assert remove_directories(["rmdir", ignore, "/mnt/a"], made, set()) == made
    with pytest.raises(Refusal, match="Directory not empty"):
        remove_directories(["rmdir", "/mnt/a"], made, set())
    with pytest.raises(Refusal, match="Device or resource busy"):
        remove_directories(["rmdir", ignore, "/mnt/a/b"], made, {"/mnt/a/b"})
    assert "/mnt/a/b" not in remove_directories(["rmdir", ignore, "/mnt/a/b"], made, set())


def test_an_injected_failure_reads_like_the_tool_failing_on_bad_storage():
    assert io_error(["mount", "-t", "lustre", DEVICE, "/mnt/x"]) == (
        5,
        f"mount.lustre: mount {DEVICE} at /mnt/x failed: Input/output error\n",
    )
    assert io_error(["umount", "/mnt/x"]) == (32, "umount: /mnt/x: target is busy.\n")
    assert io_error(["lctl", "network", "up"]) == (1, "error: network: Input/output error\n")


def test_the_mgs_registry_answers_conf_params_and_pools_like_an_mgs():
    registry = {"fs1": FilesystemConfig(targets={"fs1-OST0000": "u0", "fs1-MDT0000": "u1"})}
    conf_param(registry, ["fs1-OST0000.osc.active=0"])
    assert registry["fs1"].params == {"fs1-OST0000.osc.active": "0"}
    with pytest.raises(Refusal, match="No such file or directory"):
        conf_param(registry, ["fs1-OST0007.osc.active=0"])
    with pytest.raises(Refusal, match="Invalid argument"):
        conf_param(registry, ["fs1.sys.timeout"])
    pool_command(registry, "pool_new", ["fs1.p"])
    pool_command(registry, "pool_add", ["fs1.p", "fs1-OST0000_UUID"])
    pool_command(registry, "pool_new", ["fs1.empty"])
    assert pool_command(registry, "pool_list", ["fs1"]).stdout == (
        "Pools from fs1:\nfs1.empty\nfs1.p\n"
    ), "the pools by name, as lctl lists them; their members only when one is asked for"
    assert pool_command(registry, "pool_list", ["fs1.p"]).stdout == (
        "Pool: fs1.p\nfs1-OST0000_UUID\n"
    )
    assert pool_command(registry, "pool_list", ["fs1.empty"]).stdout == "Pool: fs1.empty\n"
    with pytest.raises(Refusal, match=r"cannot open .*/pools/q: No such file or directory"):
        pool_command(registry, "pool_list", ["fs1.q"])
    with pytest.raises(Refusal, match="Lustre filesystem 'fs9' not found"):
        pool_command(registry, "pool_list", ["fs9"])
    with pytest.raises(Refusal, match="is not part of the 'fs1' fs"):
        pool_command(registry, "pool_add", ["fs1.p", "fs1-MDT0000"])
    with pytest.raises(Refusal, match=r"Pool fs1\.q not found"):
        pool_command(registry, "pool_remove", ["fs1.q", "fs1-OST0000"])
    with pytest.raises(Refusal, match="Device or resource busy"):
        erase_lcfg(registry, "fs1", ["fs1-OST0000"])
    assert erase_lcfg(registry, "fs1", []).logs
    assert registry == {}


def test_the_simulators_pool_list_reads_as_the_real_agent_reads_lctls():
    registry = {"fs1": FilesystemConfig(targets={"fs1-OST0000": "u0", "fs1-OST0001": "u1"})}
    pool_command(registry, "pool_new", ["fs1.flash"])
    pool_command(registry, "pool_add", ["fs1.flash", "fs1-OST0001", "fs1-OST0000"])
    listed = parse_pool_list(pool_command(registry, "pool_list", ["fs1"]).stdout)
    assert listed == {"fsname": "fs1", "pools": ["flash"]}
    members = parse_pool_list_members(pool_command(registry, "pool_list", ["fs1.flash"]).stdout)
    assert members == {"pool": "fs1.flash", "members": ["fs1-OST0001", "fs1-OST0000"]}


def test_set_param_permanent_is_kept_by_the_mgs_under_its_conf_param_key():
    registry = {"fs1": FilesystemConfig(targets={"fs1-OST0000": "u0"})}
    set_param_permanent(registry, ["-P", "llite.fs1-*.max_cached_mb=64"])
    set_param_permanent(registry, ["-P", "osc.fs1-OST0000-*.active=0"])
    assert registry["fs1"].params == {
        "fs1.llite.max_cached_mb": "64",
        "fs1-OST0000.osc.active": "0",
    }
    set_param_permanent(registry, ["-P", "-d", "osc.fs1-OST0000-*.active"])
    assert registry["fs1"].params == {"fs1.llite.max_cached_mb": "64"}
    with pytest.raises(Refusal, match="needs <device>"):
        set_param_permanent(registry, ["-P", "timeout=40"])
    with pytest.raises(Refusal, match="No such file or directory"):
        set_param_permanent(registry, ["-P", "llite.fs9-*.max_cached_mb=64"])


def test_tcp_and_tcp0_are_one_network():
    assert normalize_nid("10.0.0.1@tcp") == normalize_nid("10.0.0.1@tcp0") == "10.0.0.1@tcp0"
    assert normalize_nid("10.0.0.1@o2ib1") == "10.0.0.1@o2ib1"


@pytest.mark.parametrize("speed", [1.0, 20.0])
def test_a_faster_cluster_finishes_the_same_command_in_a_fraction_of_the_tools_time(
    speed: float,
) -> None:
    clock = Clock()
    cluster = SimulatedCluster.create(clock=clock, wall=lambda: 1e9, speed=speed)
    server = cluster.server(next(iter(cluster.servers)))
    answers: list[Any] = []
    server.run(["mkfs.lustre", "--dryrun", "--ost"]).addBoth(answers.append)
    clock.advance(0.5 / speed - 0.001)
    assert answers == []
    clock.advance(0.002)
    assert len(answers) == 1


@pytest.mark.parametrize("speed", [0.0, -2.0, float("nan"), float("inf")])
def test_a_speed_that_is_not_a_positive_number_is_refused(speed: float) -> None:
    with pytest.raises(SimulatorStateError, match="give a number above 0"):
        SimulatedCluster.create(clock=Clock(), speed=speed)
