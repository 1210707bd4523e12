"""The agent's Lustre actions: golden argument lists, every validation rule, and properties
that hold for any input (well-formed argv, no value read as an option, only typed errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.daemon.lustre_actions import (
    ACTIONS,
    ActionArgumentError,
    ActionSpec,
    UnknownActionError,
    command_lines,
    read_result,
)

OST3_HA: dict[str, Any] = {
    "device": "/dev/mapper/ost3",
    "kind": "OST",
    "fsname": "fs1",
    "index": 3,
    "mgs_nids": [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]],
    "service_nids": [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"]],
}


def mkfs(args: Mapping[str, Any]) -> list[str]:
    lines = command_lines("format_target", args)
    assert lines[0][0] == "mkfs.lustre"
    return lines[0]


# --- golden argument lists ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("setup_server", [["lctl", "--version"]]),
        ("teardown_server", []),
        ("load_lnet", [["modprobe", "lnet"]]),
        ("start_lnet", [["lctl", "network", "up"], ["lctl", "list_nids"]]),
        ("stop_lnet", [["lustre_rmmod", "ptlrpc"], ["lctl", "network", "down"]]),
        ("unload_lnet", [["lustre_rmmod"]]),
    ],
)
def test_actions_without_arguments(action: str, expected: list[list[str]]) -> None:
    assert command_lines(action, {}) == expected


def test_ost_on_ha_pair() -> None:
    assert command_lines("format_target", OST3_HA) == [
        [
            "mkfs.lustre",
            "--ost",
            "--fsname=fs1",
            "--index=3",
            "--mgsnode=10.0.0.1@tcp0",
            "--mgsnode=10.0.0.2@tcp0",
            "--servicenode=10.0.0.3@tcp0",
            "--servicenode=10.0.0.4@tcp0",
            "/dev/mapper/ost3",
        ],
        ["blkid", "-o", "value", "-s", "UUID", "/dev/mapper/ost3"],
        ["dumpe2fs", "-h", "/dev/mapper/ost3"],
    ]


def test_host_with_two_nids_gets_one_comma_joined_option() -> None:
    args = {
        **OST3_HA,
        "mgs_nids": [["10.0.0.1@tcp0", "192.168.1.1@o2ib1"], ["10.0.0.2@tcp0"]],
        "service_nids": [["10.0.0.3@tcp0", "192.168.1.3@o2ib1"], ["10.0.0.4@tcp0"]],
    }
    argv = mkfs(args)
    assert argv[4:8] == [
        "--mgsnode=10.0.0.1@tcp0,192.168.1.1@o2ib1",
        "--mgsnode=10.0.0.2@tcp0",
        "--servicenode=10.0.0.3@tcp0,192.168.1.3@o2ib1",
        "--servicenode=10.0.0.4@tcp0",
    ]


def test_primary_mgs_comes_first_as_given() -> None:
    args = {**OST3_HA, "mgs_nids": [["10.0.0.2@tcp0"], ["10.0.0.1@tcp0"]]}
    assert [a for a in mkfs(args) if a.startswith("--mgsnode=")] == [
        "--mgsnode=10.0.0.2@tcp0",
        "--mgsnode=10.0.0.1@tcp0",
    ]


def test_target_on_one_server_names_no_service_node() -> None:
    argv = mkfs({**OST3_HA, "service_nids": [["10.0.0.3@tcp0"]]})
    assert not [a for a in argv if a.startswith(("--servicenode", "--failnode"))]
    assert argv[-1] == "/dev/mapper/ost3"
    assert mkfs({key: value for key, value in OST3_HA.items() if key != "service_nids"}) == argv


def test_failnode_is_never_used() -> None:
    argv = mkfs(
        {**OST3_HA, "service_nids": [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"], ["10.0.0.5@tcp0"]]}
    )
    assert [a for a in argv if a.startswith("--servicenode=")] == [
        "--servicenode=10.0.0.3@tcp0",
        "--servicenode=10.0.0.4@tcp0",
        "--servicenode=10.0.0.5@tcp0",
    ]
    assert not any(a.startswith("--failnode") for a in argv)


def test_failover_nodes_by_failnode_name_only_the_partners() -> None:
    argv = mkfs(
        {
            **OST3_HA,
            "service_nids": None,
            "failover_nids": [["10.0.0.4@tcp0", "192.168.1.4@o2ib"], ["10.0.0.5@tcp0"]],
        }
    )
    assert argv == [
        "mkfs.lustre",
        "--ost",
        "--fsname=fs1",
        "--index=3",
        "--mgsnode=10.0.0.1@tcp0",
        "--mgsnode=10.0.0.2@tcp0",
        "--failnode=10.0.0.4@tcp0,192.168.1.4@o2ib",
        "--failnode=10.0.0.5@tcp0",
        "/dev/mapper/ost3",
    ]
    rejected(
        "format_target",
        {**OST3_HA, "failover_nids": [["10.0.0.9@tcp0"]]},
        "failover_nids",
        "must not be given with service_nids (use --servicenode or --failnode, not both)",
    )


def test_a_target_on_zfs_is_formatted_onto_a_dataset() -> None:
    lines = command_lines(
        "format_target",
        {
            "device": "ostpool/ost0",
            "kind": "OST",
            "fsname": "fs1",
            "index": 0,
            "mgs_nids": [["10.0.0.1@tcp0"]],
            "backfstype": "zfs",
        },
    )
    assert lines == [
        [
            "mkfs.lustre",
            "--ost",
            "--fsname=fs1",
            "--index=0",
            "--backfstype=zfs",
            "--mgsnode=10.0.0.1@tcp0",
            "ostpool/ost0",
        ]
    ], "no blkid or dumpe2fs: they read ldiskfs only"
    rejected(
        "format_target",
        {"device": "/dev/sdb", "kind": "MGT", "backfstype": "zfs"},
        "device",
        "must name a ZFS dataset like ostpool/ost0 for zfs",
    )
    rejected(
        "format_target",
        {"device": "pool/mgt", "kind": "MGT", "backfstype": "zfs", "inode_size": 512},
        "inode_size",
        "and the other inode options are for ldiskfs only, not zfs",
    )
    rejected(
        "format_target",
        {"device": "/dev/sdb", "kind": "MGT", "backfstype": "xfs"},
        "backfstype",
        "must be ldiskfs or zfs",
    )


def test_mkfs_options_are_one_element_before_the_device() -> None:
    argv = mkfs({**OST3_HA, "inode_size": 512, "bytes_per_inode": 2048, "inode_count": 100000})
    assert argv[-2:] == ["--mkfsoptions=-I 512 -i 2048 -N 100000", "/dev/mapper/ost3"]
    assert mkfs({**OST3_HA, "bytes_per_inode": 4096})[-2] == "--mkfsoptions=-i 4096"
    assert not any(a.startswith("--mkfsoptions") for a in mkfs(OST3_HA))


def test_reformat_only_on_request() -> None:
    assert "--reformat" not in mkfs(OST3_HA)
    assert "--reformat" not in mkfs({**OST3_HA, "reformat": False})
    argv = mkfs({**OST3_HA, "reformat": True, "inode_size": 1024})
    assert argv[-3:] == ["--mkfsoptions=-I 1024", "--reformat", "/dev/mapper/ost3"]


def test_mdt_format() -> None:
    argv = mkfs(
        {
            "device": "/dev/sdb",
            "kind": "MDT",
            "fsname": "fs1",
            "index": 0,
            "mgs_nids": [["10.0.0.1@tcp0"]],
            "inode_size": 512,
            "bytes_per_inode": 2048,
            "reformat": True,
        }
    )
    assert argv == [
        "mkfs.lustre",
        "--mdt",
        "--fsname=fs1",
        "--index=0",
        "--mgsnode=10.0.0.1@tcp0",
        "--mkfsoptions=-I 512 -i 2048",
        "--reformat",
        "/dev/sdb",
    ]


def test_mgt_format_on_ha_pair() -> None:
    lines = command_lines(
        "format_target",
        {
            "device": "/dev/mapper/mgt",
            "kind": "MGT",
            "mgs_nids": [],
            "service_nids": [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]],
        },
    )
    assert lines[0] == [
        "mkfs.lustre",
        "--mgs",
        "--servicenode=10.0.0.1@tcp0",
        "--servicenode=10.0.0.2@tcp0",
        "/dev/mapper/mgt",
    ]
    assert command_lines("format_target", {"device": "/dev/sdc", "kind": "MGT"})[0] == [
        "mkfs.lustre",
        "--mgs",
        "/dev/sdc",
    ]


def test_register_target() -> None:
    assert command_lines(
        "register_target", {"device": "/dev/sdb", "mount_point": "/mnt/fs1-OST0003"}
    ) == [
        ["mkdir", "-p", "/mnt/fs1-OST0003"],
        ["mount", "-t", "lustre", "/dev/sdb", "/mnt/fs1-OST0003"],
        ["umount", "/mnt/fs1-OST0003"],
        ["blkid", "-c", "/dev/null", "-o", "value", "-s", "LABEL", "/dev/sdb"],
    ]


@pytest.mark.parametrize(
    ("action", "args", "expected"),
    [
        ("configure_target_mount", {"mount_point": "/mnt/t"}, [["mkdir", "-p", "/mnt/t"]]),
        (
            "unconfigure_target_mount",
            {"mount_point": "/mnt/t"},
            [["rmdir", "--ignore-fail-on-non-empty", "/mnt/t"]],
        ),
        (
            "mount_target",
            {"device": "/dev/disk/by-id/scsi-3600a0b8", "mount_point": "/mnt/t"},
            [["mount", "-t", "lustre", "/dev/disk/by-id/scsi-3600a0b8", "/mnt/t"]],
        ),
        ("unmount_target", {"mount_point": "/mnt/t"}, [["umount", "/mnt/t"]]),
        (
            "set_conf_param",
            {"key": "fs1.sys.timeout", "value": "40"},
            [["lctl", "conf_param", "fs1.sys.timeout=40"]],
        ),
        (
            "set_conf_param",
            {"key": "fs1-OST0000.osc.active", "value": "0"},
            [["lctl", "conf_param", "fs1-OST0000.osc.active=0"]],
        ),
        (
            "set_conf_param",
            {"key": "fs1-MDT0000.mdt.MDS.mds.thread_min", "value": "16"},
            [["lctl", "conf_param", "fs1-MDT0000.mdt.MDS.mds.thread_min=16"]],
        ),
        (
            "set_conf_param",
            {"key": "fs1.llite.max_cached_mb", "value": None},
            [["lctl", "conf_param", "-d", "fs1.llite.max_cached_mb"]],
        ),
        (
            "set_conf_param",
            {"key": "fs1.llite.max_cached_mb"},
            [["lctl", "conf_param", "-d", "fs1.llite.max_cached_mb"]],
        ),
        ("purge_filesystem", {"fsname": "fs1"}, [["lctl", "erase_lcfg", "fs1"]]),
        ("pool_new", {"fsname": "fs1", "pool": "fast"}, [["lctl", "pool_new", "fs1.fast"]]),
        (
            "pool_add",
            {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST000a", "fs1-OST0001"]},
            [["lctl", "pool_add", "fs1.fast", "fs1-OST000a", "fs1-OST0001"]],
        ),
        (
            "pool_remove",
            {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST000a"]},
            [["lctl", "pool_remove", "fs1.fast", "fs1-OST000a"]],
        ),
        (
            "pool_destroy",
            {"fsname": "fs1", "pool": "fast"},
            [["lctl", "pool_destroy", "fs1.fast"]],
        ),
        (
            "mount_client",
            {"source": "10.0.0.1@tcp0:10.0.0.2@tcp0:/fs1", "mount_point": "/mnt/fs1"},
            [
                ["mkdir", "-p", "/mnt/fs1"],
                ["mount", "-t", "lustre", "10.0.0.1@tcp0:10.0.0.2@tcp0:/fs1", "/mnt/fs1"],
            ],
        ),
        (
            "mount_client",
            {"source": "10.0.0.1@tcp0,192.168.1.1@o2ib1:/fs1", "mount_point": "/mnt/fs1"},
            [
                ["mkdir", "-p", "/mnt/fs1"],
                ["mount", "-t", "lustre", "10.0.0.1@tcp0,192.168.1.1@o2ib1:/fs1", "/mnt/fs1"],
            ],
        ),
        ("unmount_client", {"mount_point": "/mnt/fs1"}, [["umount", "/mnt/fs1"]]),
        # Operations Manual, "Regenerating Lustre Configuration Logs": tunefs.lustre
        # --writeconf <device>; --erase-params first (LU-1462), then the NIDs it erased.
        (
            "writeconf_target",
            {"device": "/dev/sdb"},
            [["tunefs.lustre", "--writeconf", "/dev/sdb"]],
        ),
        (
            "writeconf_target",
            {
                "device": "/dev/mapper/ost3",
                "erase_params": True,
                "mgs_nids": [["10.0.0.1@tcp0"], ["10.0.0.2@tcp0"]],
                "service_nids": [["10.0.0.3@tcp0"], ["10.0.0.4@tcp0"]],
            },
            [
                [
                    "tunefs.lustre",
                    "--erase-params",
                    "--writeconf",
                    "--mgsnode=10.0.0.1@tcp0",
                    "--mgsnode=10.0.0.2@tcp0",
                    "--servicenode=10.0.0.3@tcp0",
                    "--servicenode=10.0.0.4@tcp0",
                    "/dev/mapper/ost3",
                ]
            ],
        ),
        (
            "writeconf_target",
            {"device": "/dev/sdc", "failover_nids": [["10.0.0.4@tcp0", "10.1.0.4@o2ib"]]},
            [
                [
                    "tunefs.lustre",
                    "--writeconf",
                    "--failnode=10.0.0.4@tcp0,10.1.0.4@o2ib",
                    "/dev/sdc",
                ]
            ],
        ),
        # "Setting Permanent Parameters": lctl set_param -P osc.*.max_dirty_mb=1024, and -d.
        (
            "set_param_permanent",
            {"key": "osc.*.max_dirty_mb", "value": "1024"},
            [["lctl", "set_param", "-P", "osc.*.max_dirty_mb=1024"]],
        ),
        (
            "set_param_permanent",
            {"key": "osc.*.max_dirty_mb", "value": None},
            [["lctl", "set_param", "-P", "-d", "osc.*.max_dirty_mb"]],
        ),
    ],
)
def test_golden_command_lines(action: str, args: dict[str, Any], expected: list[list[str]]) -> None:
    assert command_lines(action, args) == expected


def test_catalogue_describes_every_action() -> None:
    assert set(ACTIONS) == {
        "setup_server",
        "teardown_server",
        "load_lnet",
        "start_lnet",
        "stop_lnet",
        "unload_lnet",
        "format_target",
        "writeconf_target",
        "register_target",
        "configure_target_mount",
        "unconfigure_target_mount",
        "mount_target",
        "unmount_target",
        "set_conf_param",
        "set_param_permanent",
        "purge_filesystem",
        "pool_new",
        "pool_add",
        "pool_remove",
        "pool_destroy",
        "mount_client",
        "unmount_client",
    }
    for name, spec in ACTIONS.items():
        assert isinstance(spec, ActionSpec)
        assert spec.name == name
        assert spec.description and "\n" not in spec.description
        assert not set(spec.required) & set(spec.optional)
    assert ACTIONS["format_target"].required == ("device", "kind")
    with pytest.raises(TypeError):
        ACTIONS["x"] = ACTIONS["load_lnet"]  # type: ignore[index]


# --- validation --------------------------------------------------------------------------------


def rejected(action: str, args: Mapping[str, Any], argument: str, fragment: str) -> str:
    with pytest.raises(ActionArgumentError) as raised:
        command_lines(action, args)
    error = raised.value
    message = str(error)
    assert (error.action, error.argument) == (action, argument), message
    assert message.startswith(f"{action}: argument {argument!r} "), message
    assert fragment in message, message
    return message


TARGET = {"device": "/dev/sdb", "mount_point": "/mnt/t"}
POOL = {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST0000"]}
CLIENT = {"source": "10.0.0.1@tcp0:/fs1", "mount_point": "/mnt/fs1"}


@pytest.mark.parametrize(
    ("action", "args", "argument", "fragment"),
    [
        # unknown, missing and mistyped arguments
        ("load_lnet", {"force": True}, "force", "is not an argument of load_lnet"),
        ("mount_target", {**TARGET, "options": "ro"}, "options", "it takes device, mount_point"),
        ("mount_target", {"device": "/dev/sdb"}, "mount_point", "is required"),
        ("format_target", {"kind": "MGT"}, "device", "is required"),
        ("mount_target", {**TARGET, "device": 7}, "device", "must be a string, not int"),
        ("mount_target", {**TARGET, "device": None}, "device", "must be a string, not NoneType"),
        ("mount_target", {**TARGET, "device": ""}, "device", "must not be empty"),
        # paths
        ("mount_target", {**TARGET, "device": "dev/sdb"}, "device", "absolute path"),
        ("mount_target", {**TARGET, "mount_point": "mnt/t"}, "mount_point", "absolute path"),
        ("mount_target", {**TARGET, "device": "/dev/my disk"}, "device", "whitespace"),
        ("unmount_target", {"mount_point": "/mnt/a\tb"}, "mount_point", "whitespace"),
        ("unmount_target", {"mount_point": "/mnt/a\nb"}, "mount_point", "whitespace"),
        ("mount_target", {**TARGET, "device": "/dev/sd\x00b"}, "device", "NUL"),
        ("unmount_target", {"mount_point": "/mnt/a\x1bb"}, "mount_point", "control characters"),
        ("mount_target", {**TARGET, "device": "/dev/../etc/passwd"}, "device", "'..'"),
        ("unmount_target", {"mount_point": "/mnt/fs1/.."}, "mount_point", "'..'"),
        ("unmount_target", {"mount_point": "/"}, "mount_point", "root directory"),
        ("unmount_target", {"mount_point": "/" + "a" * 5000}, "mount_point", "at most 4096"),
        # fsname
        ("purge_filesystem", {"fsname": "fs-1"}, "fsname", "1 to 8 letters, digits or underscores"),
        ("purge_filesystem", {"fsname": "lustrefs1"}, "fsname", "1 to 8"),
        ("purge_filesystem", {"fsname": "fs1\n"}, "fsname", "1 to 8"),
        ("purge_filesystem", {"fsname": "fsé"}, "fsname", "1 to 8"),
        ("purge_filesystem", {"fsname": ""}, "fsname", "must not be empty"),
        ("format_target", {**OST3_HA, "fsname": "fs.1"}, "fsname", "1 to 8"),
        # index
        ("format_target", {**OST3_HA, "index": -1}, "index", "from 0 to 65534"),
        ("format_target", {**OST3_HA, "index": 65535}, "index", "from 0 to 65534"),
        ("format_target", {**OST3_HA, "index": "3"}, "index", "whole number, not str"),
        ("format_target", {**OST3_HA, "index": True}, "index", "whole number, not bool"),
        ("format_target", {**OST3_HA, "index": 3.0}, "index", "whole number, not float"),
        # kind and what each kind needs
        ("format_target", {**OST3_HA, "kind": "ost"}, "kind", "one of MGT, MDT, OST"),
        ("format_target", {**OST3_HA, "kind": ["OST"]}, "kind", "one of MGT, MDT, OST"),
        ("format_target", {**OST3_HA, "kind": "--mgs"}, "kind", "one of MGT, MDT, OST"),
        ("format_target", {**OST3_HA, "fsname": None}, "fsname", "is required for an OST"),
        ("format_target", {**OST3_HA, "index": None}, "index", "is required for an OST"),
        ("format_target", {**OST3_HA, "mgs_nids": []}, "mgs_nids", "at least one MGS server"),
        (
            "format_target",
            {"device": "/dev/sdb", "kind": "MDT", "fsname": "fs1", "index": 0},
            "mgs_nids",
            "at least one MGS server for an MDT",
        ),
        (
            "format_target",
            {"device": "/dev/sdb", "kind": "MGT", "fsname": "fs1"},
            "fsname",
            "must be absent for an MGT",
        ),
        (
            "format_target",
            {"device": "/dev/sdb", "kind": "MGT", "index": 0},
            "index",
            "must be absent for an MGT",
        ),
        (
            "format_target",
            {"device": "/dev/sdb", "kind": "MGT", "mgs_nids": [["10.0.0.1@tcp0"]]},
            "mgs_nids",
            "must be empty for an MGT",
        ),
        # NIDs
        ("format_target", {**OST3_HA, "mgs_nids": [["10.0.0.1"]]}, "mgs_nids", "NIDs like"),
        ("format_target", {**OST3_HA, "mgs_nids": [["mgs1@tcp0"]]}, "mgs_nids", "NIDs like"),
        ("format_target", {**OST3_HA, "mgs_nids": [["10.0.0.256@tcp0"]]}, "mgs_nids", "NIDs"),
        ("format_target", {**OST3_HA, "mgs_nids": [["10.0.0.1@tcp 0"]]}, "mgs_nids", "NIDs"),
        ("format_target", {**OST3_HA, "mgs_nids": [["10.0.0.1@TCP0"]]}, "mgs_nids", "NIDs"),
        (
            "format_target",
            {**OST3_HA, "mgs_nids": [["10.0.0.1@tcp0,10.0.0.2@tcp0"]]},
            "mgs_nids",
            "NIDs like",
        ),
        (
            "format_target",
            {**OST3_HA, "service_nids": [["10.0.0.3@tcp0:10.0.0.4@tcp0"]]},
            "service_nids",
            "NIDs like",
        ),
        ("format_target", {**OST3_HA, "mgs_nids": ["10.0.0.1@tcp0"]}, "mgs_nids", "a list"),
        ("format_target", {**OST3_HA, "mgs_nids": "10.0.0.1@tcp0"}, "mgs_nids", "a list"),
        ("format_target", {**OST3_HA, "mgs_nids": [[]]}, "mgs_nids", "at least one NID"),
        ("format_target", {**OST3_HA, "service_nids": [[], []]}, "service_nids", "at least one"),
        (
            "format_target",
            {**OST3_HA, "mgs_nids": [["10.0.0.1@tcp0"], ["10.0.0.1@tcp0"]]},
            "mgs_nids",
            "each NID only once",
        ),
        # mkfs options
        ("format_target", {**OST3_HA, "inode_size": 500}, "inode_size", "one of 128, 256"),
        ("format_target", {**OST3_HA, "inode_size": 8192}, "inode_size", "from 128 to 4096"),
        ("format_target", {**OST3_HA, "inode_size": "512"}, "inode_size", "whole number"),
        ("format_target", {**OST3_HA, "bytes_per_inode": 512}, "bytes_per_inode", "from 1024"),
        ("format_target", {**OST3_HA, "inode_count": 0}, "inode_count", "from 1 to"),
        ("format_target", {**OST3_HA, "inode_count": 2**32}, "inode_count", "to 4294967295"),
        ("format_target", {**OST3_HA, "reformat": "yes"}, "reformat", "true or false, not str"),
        ("format_target", {**OST3_HA, "reformat": 1}, "reformat", "true or false, not int"),
        # conf params
        ("set_conf_param", {"key": "sys.timeout", "value": "40"}, "key", "fs1.sys.timeout"),
        ("set_conf_param", {"key": "fs1.timeout", "value": "40"}, "key", "fs1.sys.timeout"),
        ("set_conf_param", {"key": "fs1.sys.timeout=40", "value": "40"}, "key", "no '='"),
        ("set_conf_param", {"key": "fs1.sys. timeout", "value": "40"}, "key", "no whitespace"),
        ("set_conf_param", {"key": "fs1-OST0000X.osc.active", "value": "0"}, "key", "look like"),
        ("set_conf_param", {"key": "fs1-OST000A.osc.active", "value": "0"}, "key", "look like"),
        ("set_conf_param", {"key": "fs1.sys.timeout", "value": "4 0"}, "value", "whitespace"),
        ("set_conf_param", {"key": "fs1.sys.timeout", "value": "a=b"}, "value", "'='"),
        ("set_conf_param", {"key": "fs1.sys.timeout", "value": ""}, "value", "must not be empty"),
        ("set_conf_param", {"key": "fs1.sys.timeout", "value": 40}, "value", "string, not int"),
        # pools and OSTs
        ("pool_new", {"fsname": "fs1", "pool": "a" * 16}, "pool", "1 to 15"),
        ("pool_new", {"fsname": "fs1", "pool": "fast.pool"}, "pool", "letters, digits"),
        ("pool_new", {"fsname": "fs1", "pool": ""}, "pool", "must not be empty"),
        ("pool_add", {**POOL, "osts": ["OST0000"]}, "osts", "OST names like fs1-OST000a"),
        ("pool_add", {**POOL, "osts": ["fs1-OST000A"]}, "osts", "OST names like"),
        ("pool_add", {**POOL, "osts": ["fs1-MDT0000"]}, "osts", "OST names like"),
        ("pool_add", {**POOL, "osts": ["fs2-OST0000"]}, "osts", "of filesystem 'fs1' only"),
        ("pool_add", {**POOL, "osts": ["fs1-OST0000"] * 2}, "osts", "each OST only once"),
        ("pool_add", {**POOL, "osts": []}, "osts", "at least one OST"),
        ("pool_remove", {**POOL, "osts": "fs1-OST0000"}, "osts", "must be a list, not str"),
        ("pool_add", {"fsname": "fs1", "pool": "fast"}, "osts", "is required"),
        # client mounts
        ("mount_client", {**CLIENT, "source": "10.0.0.1@tcp0:fs1"}, "source", "':/'"),
        ("mount_client", {**CLIENT, "source": ":/fs1"}, "source", "':/'"),
        ("mount_client", {**CLIENT, "source": "10.0.0.1@tcp0:/fs-1"}, "source", "1 to 8"),
        ("mount_client", {**CLIENT, "source": "10.0.0.1@tcp0:/fs1/sub"}, "source", "1 to 8"),
        ("mount_client", {**CLIENT, "source": "mgs:/fs1"}, "source", "'mgs' is not one"),
        ("mount_client", {**CLIENT, "source": "10.0.0.1@tcp0::/fs1"}, "source", "'' is not one"),
        ("mount_client", {**CLIENT, "source": "10.0.0.1@tcp0 :/fs1"}, "source", "is not one"),
    ],
)
def test_rule_violations_are_rejected_with_a_readable_message(
    action: str, args: dict[str, Any], argument: str, fragment: str
) -> None:
    rejected(action, args, argument, fragment)


def test_rejection_message_reads_well() -> None:
    message = rejected("purge_filesystem", {"fsname": "my-lustre"}, "fsname", "")
    assert message == (
        "purge_filesystem: argument 'fsname' must be 1 to 8 letters, digits or underscores "
        "(got 'my-lustre')"
    )
    assert isinstance(ActionArgumentError("a", "b", "c"), ValueError)


def test_args_must_be_a_mapping() -> None:
    with pytest.raises(ActionArgumentError, match="must be a mapping"):
        command_lines("load_lnet", [])  # type: ignore[arg-type]


def test_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(UnknownActionError) as raised:
        command_lines("format_disk", {})
    message = str(raised.value)
    assert message.startswith("unknown action 'format_disk'; the agent knows: ")
    assert "format_target" in message and "mount_client" in message
    assert isinstance(raised.value, KeyError)
    with pytest.raises(UnknownActionError):
        command_lines(["load_lnet"], {})  # type: ignore[arg-type]


# --- argv injection ----------------------------------------------------------------------------

# Every place an admin's value lands where a command could read it as an option.
INJECTIONS = [
    ("mount_target", {**TARGET, "device": "-oremount"}, "device"),
    ("mount_target", {**TARGET, "mount_point": "--bind"}, "mount_point"),
    ("register_target", {**TARGET, "device": "--help"}, "device"),
    ("register_target", {**TARGET, "mount_point": "-a"}, "mount_point"),
    ("format_target", {**OST3_HA, "device": "--dryrun"}, "device"),
    ("format_target", {**OST3_HA, "fsname": "-x"}, "fsname"),
    ("format_target", {**OST3_HA, "mgs_nids": [["--reformat"]]}, "mgs_nids"),
    ("format_target", {**OST3_HA, "service_nids": [["-q"], ["-r"]]}, "service_nids"),
    ("configure_target_mount", {"mount_point": "-m0777"}, "mount_point"),
    ("unconfigure_target_mount", {"mount_point": "-p"}, "mount_point"),
    ("unmount_target", {"mount_point": "-a"}, "mount_point"),
    ("set_conf_param", {"key": "-d", "value": None}, "key"),
    ("set_conf_param", {"key": "-P", "value": "1"}, "key"),
    (
        "format_target",
        {**OST3_HA, "service_nids": None, "failover_nids": [["-q"]]},
        "failover_nids",
    ),
    ("writeconf_target", {"device": "-n"}, "device"),
    ("writeconf_target", {"device": "/dev/sdb", "mgs_nids": [["-x"]]}, "mgs_nids"),
    ("writeconf_target", {"device": "/dev/sdb", "service_nids": [["-a"], ["-b"]]}, "service_nids"),
    ("writeconf_target", {"device": "/dev/sdb", "failover_nids": [["-q"]]}, "failover_nids"),
    ("set_param_permanent", {"key": "-d", "value": None}, "key"),
    ("purge_filesystem", {"fsname": "-q"}, "fsname"),
    ("pool_new", {"fsname": "-fs1", "pool": "p"}, "fsname"),
    ("pool_new", {"fsname": "fs1", "pool": "-p"}, "pool"),
    ("pool_add", {**POOL, "fsname": "-a"}, "fsname"),
    ("pool_add", {**POOL, "pool": "-a"}, "pool"),
    ("pool_add", {**POOL, "osts": ["-h"]}, "osts"),
    ("pool_remove", {**POOL, "fsname": "--"}, "fsname"),
    ("pool_remove", {**POOL, "pool": "-r"}, "pool"),
    ("pool_remove", {**POOL, "osts": ["fs1-OST0000", "--all"]}, "osts"),
    ("pool_destroy", {"fsname": "-f", "pool": "p"}, "fsname"),
    ("pool_destroy", {"fsname": "fs1", "pool": "--force"}, "pool"),
    ("mount_client", {**CLIENT, "source": "-oremount:/fs1"}, "source"),
    ("mount_client", {**CLIENT, "mount_point": "-t"}, "mount_point"),
    ("unmount_client", {"mount_point": "-l"}, "mount_point"),
]


@pytest.mark.parametrize(("action", "args", "argument"), INJECTIONS)
def test_no_value_may_begin_with_a_dash(action: str, args: dict[str, Any], argument: str) -> None:
    rejected(action, args, argument, "must not begin with '-' (it would be read as an option)")


def test_every_user_supplied_argument_is_covered_by_the_injection_test() -> None:
    covered = {(action, argument) for action, _, argument in INJECTIONS}
    # A conf param's value is written after "key=" in one element, so it may start with '-'.
    # A target's kind only selects one of our own flags (--mgs, --mdt, --ost).
    exempt = {
        ("set_conf_param", "value"),
        ("set_param_permanent", "value"),
        ("format_target", "kind"),
        ("format_target", "backfstype"),  # selects one of our own --backfstype values
    }
    option_like = {
        "reformat",
        "erase_params",
        "inode_size",
        "bytes_per_inode",
        "inode_count",
        "index",
    }
    for action, spec in ACTIONS.items():
        for argument in spec.arguments:
            if argument not in option_like and (action, argument) not in exempt:
                assert (action, argument) in covered, (action, argument)
    assert command_lines("set_conf_param", {"key": "fs1.sys.at_extra", "value": "-1"}) == [
        ["lctl", "conf_param", "fs1.sys.at_extra=-1"]
    ]


# --- properties --------------------------------------------------------------------------------

OUR_FLAGS = {
    "--version",
    "-p",
    "-t",
    "-o",
    "-s",
    "-c",
    "-h",
    "-d",
    "--ignore-fail-on-non-empty",
    "--mgs",
    "--mdt",
    "--ost",
    "--reformat",
    "--writeconf",
    "--erase-params",
    "--backfstype=zfs",
    "-P",
}
OUR_VALUED_OPTIONS = (
    "--fsname=",
    "--index=",
    "--mgsnode=",
    "--servicenode=",
    "--failnode=",
    "--mkfsoptions=",
)


def assert_well_formed(lines: list[list[str]]) -> None:
    assert isinstance(lines, list)
    for argv in lines:
        assert isinstance(argv, list) and argv
        for element in argv:
            assert isinstance(element, str) and element
            assert "\x00" not in element
        for element in argv[1:]:
            # Anything that looks like an option is one of ours, and the values we attach to
            # our own options cannot start a second option either.
            if element.startswith("-"):
                if element in OUR_FLAGS:
                    continue
                prefix = next((p for p in OUR_VALUED_OPTIONS if element.startswith(p)), None)
                assert prefix is not None, argv
                value = element.removeprefix(prefix)
                assert value
                assert prefix == "--mkfsoptions=" or not value.startswith("-"), argv
        if argv[0] in ("mkfs.lustre", "tunefs.lustre"):
            assert not argv[-1].startswith("-")
            # A device path, or a ZFS dataset (pool/dataset) for a target on ZFS.
            assert argv[-1].startswith("/") or "--backfstype=zfs" in argv


octet = st.integers(min_value=0, max_value=255).map(str)
nids = st.builds(
    lambda a, b, c, d, net, number: f"{a}.{b}.{c}.{d}@{net}{number}",
    octet,
    octet,
    octet,
    octet,
    st.sampled_from(["tcp", "o2ib", "gni"]),
    st.sampled_from(["", "0", "1", "12"]),
)
fsnames = st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True)
path_parts = st.from_regex(r"[A-Za-z0-9_.:@+-]{1,12}", fullmatch=True).filter(lambda p: p != "..")
paths = st.lists(path_parts, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
pools = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,14}", fullmatch=True)


def unique_groups(min_size: int) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(nids, min_size=1, max_size=3), min_size=min_size, max_size=3).filter(
        lambda groups: len({n for g in groups for n in g}) == sum(len(g) for g in groups)
    )


@st.composite
def format_args(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["MGT", "MDT", "OST"]))
    args: dict[str, Any] = {"device": draw(paths), "kind": kind}
    if kind != "MGT":
        args["fsname"] = draw(fsnames)
        args["index"] = draw(st.integers(min_value=0, max_value=0xFFFE))
        args["mgs_nids"] = draw(unique_groups(1))
    if draw(st.booleans()):
        args["service_nids"] = draw(unique_groups(0))
    for name, values in (
        ("inode_size", st.sampled_from([128, 256, 512, 1024, 2048, 4096])),
        ("bytes_per_inode", st.integers(min_value=1024, max_value=64 * 1024 * 1024)),
        ("inode_count", st.integers(min_value=1, max_value=2**32 - 1)),
        ("reformat", st.booleans()),
    ):
        if draw(st.booleans()):
            args[name] = draw(values)
    return args


@given(format_args())
def test_any_valid_format_gives_well_formed_lines_with_the_device_last(
    args: dict[str, Any],
) -> None:
    lines = command_lines("format_target", args)
    assert_well_formed(lines)
    argv = lines[0]
    assert argv[-1] == args["device"]
    assert lines[1:] == [
        ["blkid", "-o", "value", "-s", "UUID", args["device"]],
        ["dumpe2fs", "-h", args["device"]],
    ]
    assert ("--reformat" in argv) == args.get("reformat", False)
    assert len([a for a in argv if a.startswith("--mgsnode=")]) == len(args.get("mgs_nids", []))
    servers = len(args.get("service_nids", []))
    assert len([a for a in argv if a.startswith("--servicenode=")]) == (
        servers if servers > 1 else 0
    )


@st.composite
def valid_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    action = draw(st.sampled_from(sorted(ACTIONS)))
    fsname = draw(fsnames)
    osts = st.lists(
        st.integers(min_value=0, max_value=0xFFFE).map(lambda i: f"{fsname}-OST{i:04x}"),
        min_size=1,
        max_size=5,
        unique=True,
    )
    values: dict[str, st.SearchStrategy[Any]] = {
        "device": paths,
        "mount_point": paths,
        "fsname": st.just(fsname),
        "pool": pools,
        "osts": osts,
        "key": st.builds(
            lambda target, name: f"{target}.{name}",
            st.one_of(
                st.just(fsname),
                st.integers(0, 0xFFFE).map(lambda i: f"{fsname}-OST{i:04x}"),
                st.integers(0, 0xFFFE).map(lambda i: f"{fsname}-MDT{i:04x}"),
            ),
            st.sampled_from(["sys.timeout", "osc.active", "lov.stripesize", "llite.x_y.z"]),
        ),
        "value": st.none() | st.from_regex(r"[A-Za-z0-9_.,:@-]{1,12}", fullmatch=True),
        "mgs_nids": unique_groups(0),
        "service_nids": unique_groups(0).filter(lambda groups: len(groups) != 1),
        "failover_nids": st.just([]),
        "erase_params": st.booleans(),
        "source": st.builds(
            lambda hosts, name: ":".join(",".join(h) for h in hosts) + ":/" + name,
            unique_groups(1),
            fsnames,
        ),
    }
    if action == "format_target":
        return action, draw(format_args())
    if action == "set_param_permanent":
        values["key"] = st.sampled_from(
            ["osc.*.max_dirty_mb", f"obdfilter.{fsname}-OST0000.degraded", "jobid_var"]
        ).filter(lambda key: "." in key)
    spec = ACTIONS[action]
    return action, {name: draw(values[name]) for name in spec.arguments}


@given(valid_calls())
def test_any_valid_call_gives_well_formed_argument_lists(call: tuple[str, dict[str, Any]]) -> None:
    action, args = call
    lines = command_lines(action, args)
    assert_well_formed(lines)
    for name in ("device", "mount_point", "source"):
        if name in args:
            assert any(args[name] in argv for argv in lines)


# Values meant to reach the deeper rules as well as fall at the first one.
texts = st.text(max_size=24)
plausible = st.sampled_from(
    [
        "MGT",
        "MDT",
        "OST",
        "/dev/sdb",
        "/mnt/fs1",
        "fs1",
        "fs1-OST0000",
        "fs1.sys.timeout",
        "10.0.0.1@tcp0",
        "10.0.0.1@tcp0:/fs1",
        "-",
        "--",
        "..",
        "/",
        "",
    ]
)
anything: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | texts
    | plausible
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(texts, inner, max_size=2)
    ),
    max_leaves=8,
)


@st.composite
def arbitrary_calls(draw: st.DrawFn) -> tuple[str, dict[Any, Any]]:
    action = draw(st.sampled_from(sorted(ACTIONS)) | texts)
    names = ACTIONS[action].arguments if action in ACTIONS else ()
    args: dict[Any, Any] = {}
    for name in names:
        if draw(st.integers(0, 9)):  # mostly present, sometimes missing
            args[name] = draw(anything)
    if draw(st.integers(0, 9)) == 0:
        args[draw(texts | st.integers())] = draw(anything)
    return action, args


@settings(max_examples=500)
@given(arbitrary_calls())
def test_any_input_gives_argument_lists_or_a_typed_error(
    call: tuple[str, dict[Any, Any]],
) -> None:
    action, args = call
    outcome: list[list[str]] | UnknownActionError | ActionArgumentError
    try:
        outcome = command_lines(action, args)
    except (UnknownActionError, ActionArgumentError) as error:
        outcome = error
    if isinstance(outcome, UnknownActionError):
        assert action not in ACTIONS
        assert str(outcome).startswith("unknown action")
    elif isinstance(outcome, ActionArgumentError):
        assert str(outcome).startswith(f"{action}: argument ")
    else:
        assert_well_formed(outcome)


@given(
    st.sampled_from(sorted(ACTIONS)),
    st.dictionaries(
        st.sampled_from(
            [
                "device",
                "mount_point",
                "fsname",
                "pool",
                "osts",
                "key",
                "value",
                "source",
                "kind",
                "backfstype",
            ]
        ),
        texts,
        max_size=4,
    ),
)
def test_random_text_for_every_argument_never_escapes_the_rules(
    action: str, args: dict[str, str]
) -> None:
    try:
        lines = command_lines(action, args)
    except ActionArgumentError:
        return
    assert_well_formed(lines)


def test_what_the_desktop_learns_from_the_output():
    assert read_result("start_lnet", ["LNET configured\n", "10.0.0.1@tcp\n10.1.0.1@o2ib\n"]) == {
        "nids": ["10.0.0.1@tcp", "10.1.0.1@o2ib"]
    }
    dumpe2fs = "Filesystem volume name:   fs1-OST0001\nInode count:  1024\nInode size:\t  512\n"
    assert read_result("format_target", ["", "5b6f-9c\n", dumpe2fs]) == {
        "uuid": "5b6f-9c",
        "inode_size": 512,
        "inode_count": 1024,
    }
    assert read_result("register_target", ["", "", "", "fs1-OST0001\n"]) == {"label": "fs1-OST0001"}
    assert read_result("format_target", ["only one output"]) is None, "odd output tells nothing"
    assert read_result("load_lnet", [""]) is None
