"""A garbled report is refused with a message naming what is wrong, and changes nothing;
stacked devices (partitions, multipath, LVM, ZFS) become the right volumes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.errors import NotFoundError
from core.models import StorageResource, Volume, VolumeNode
from plugins.reports import ReportError
from tests.plugins.conftest import Site

GARBLED = [
    ({"kind": "devices"}, "devices is None, not a list"),
    ({"devices": ["sda"]}, "devices[0] is 'sda', not a mapping"),
    (
        {"devices": [{"path": "/dev/sda", "major_minor": "8:0", "size_bytes": "big"}]},
        "devices[0].size_bytes is 'big', not a whole number",
    ),
    (
        {"devices": [{"path": "sda", "major_minor": "8:0", "size_bytes": 1}]},
        "devices[0].path 'sda' is not an absolute device path",
    ),
    (
        {
            "devices": [
                {"path": "/dev/sda", "major_minor": "8:0", "size_bytes": 1},
                {"path": "/dev/sda", "major_minor": "8:16", "size_bytes": 1},
            ]
        },
        "two devices have the path '/dev/sda'",
    ),
]


def test_a_garbled_devices_report_is_refused_and_changes_nothing(site: Site):
    site.push_devices(["sim-oss1"])
    with site.database.session() as session:
        before = session.scalar(select(func.count()).select_from(StorageResource))
    for body, problem in GARBLED:
        with pytest.raises(ReportError) as raised:
            site.push("sim-oss1", "devices", body)
        message = str(raised.value)
        assert message.startswith(f"The devices report from sim-oss1 was refused: {problem}")
        assert "Nothing was changed." in message
    with site.database.session() as session:
        assert session.scalar(select(func.count()).select_from(StorageResource)) == before
        assert session.scalar(select(func.count()).select_from(VolumeNode)) == 4


def test_unknown_reports_and_hosts_are_refused(site: Site):
    with pytest.raises(ReportError, match="storage plugins read only devices, lustre, network"):
        site.push("sim-oss1", "stats", {})
    with pytest.raises(ReportError, match=r"state\.lnet is 'sideways'"):
        site.push("sim-oss1", "lustre", {"state": {"lnet": "sideways"}})
    site.hosts["ghost"] = 999
    with pytest.raises(NotFoundError, match="no server with id 999"):
        site.push("ghost", "devices", {"devices": []})


def dev(path: str, mm: str, size: int = 1 << 30, **extra: object) -> dict[str, object]:
    return {"path": path, "major_minor": mm, "size_bytes": size, **extra}


def test_partitions_multipath_lvm_and_zfs_become_the_right_volumes(site: Site):
    body = {
        "devices": [
            # A disk with two partitions: the xfs one is in use, the other is offered.
            dev("/dev/disk/by-id/scsi-DISK1", "8:0", serial="DISK1"),
            dev("/dev/disk/by-id/scsi-DISK1-part1", "8:1", parent="8:0", filesystem="xfs"),
            dev("/dev/disk/by-id/scsi-DISK1-part2", "8:2", parent="8:0"),
            # Two paths to one LUN under a multipath map: only the map is offered.
            dev("/dev/sdb", "8:16", serial="WWID2"),
            dev("/dev/sdc", "8:32", serial="WWID2"),
            dev("/dev/mapper/mpatha", "253:0", slaves=["8:16", "8:32"], dm_uuid="mpath-WWID2"),
            # A PV carrying an LV.
            dev("/dev/sdd", "8:48", serial="PV3", filesystem="LVM2_member"),
            dev(
                "/dev/mapper/vg0-lv0",
                "253:1",
                slaves=["8:48"],
                vg="vg0",
                lv="lv0",
                vg_uuid="VGUUID",
                lv_uuid="LVUUID",
            ),
            # Two ZFS members and their pool.
            dev("/dev/sde", "8:64", serial="Z1", filesystem="zfs_member"),
            dev("/dev/sdf", "8:80", serial="Z2", filesystem="zfs_member"),
            # An LVM member with nothing reported on top: in use by something unseen.
            dev("/dev/sdg", "8:96", serial="ORPHAN", filesystem="LVM2_member"),
        ],
        "zpools": [
            {"name": "ost0pool", "size_bytes": 2 << 30, "devices": ["8:64", "8:80"], "guid": "77"}
        ],
    }
    outcome = site.push("sim-oss1", "devices", body)
    assert outcome.failures == () and outcome.warnings == ()
    with site.database.session() as session:
        paths = sorted(session.scalars(select(VolumeNode.path)))
        serials = sorted(str(v.serial) for v in session.scalars(select(Volume)))
    assert paths == [
        "/dev/disk/by-id/scsi-DISK1-part2",
        "/dev/mapper/mpatha",
        "/dev/mapper/vg0-lv0",
        "ost0pool",
    ]
    assert serials == ["None", "None", "None", "WWID2"]
