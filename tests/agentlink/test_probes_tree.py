"""The real agent on a server of the current Lustre 2.x series, built here file by file from the
Operations Manual's descriptions (single values under /sys/fs/lustre, stats and job_stats under
/proc/fs/lustre, brw_stats and the device list under /sys/kernel/debug, capacity on the OSD,
an MDT on ZFS, the MGS's filesystems and the MDT's OST pool files), with block devices in sysfs
as udev and device-mapper leave them; then the same server with broken files, each named in the
report while the rest is still read."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentlink.daemon.backend import ReportsZpools
from agentlink.daemon.localhost import LocalHost
from agentlink.daemon.probes.report import device_records, full_report
from agentlink.daemon.probes.source import NoCommands, Tree
from agentlink.reports import parse_push
from core.observations import LustreReported
from plugins.reports import DevicesReport, parse_report

RECEIVED = datetime(2023, 11, 14, 22, 16, 40, tzinfo=UTC)
LV_UUIDS = "a" * 32 + "b" * 32
WWID = "3600a0b800026b8c2000012345678abcd"

OST_STATS = """snapshot_time             1700000100.123456789 secs.nsecs
start_time                1699990000.000000000 secs.nsecs
elapsed_time              10100.123456789 secs.nsecs
read_bytes                10 samples [bytes] 4096 1048576 5242880 2748779069440
write_bytes               20 samples [bytes] 1048576 1048576 20971520 21990232555520
setattr                   3 samples [usecs] 5 40 60 2100
punch                     1 samples [usecs] 11 11 11 121
statfs                    1432 samples [usecs] 1 30 3000 90000
"""
OST_JOB_STATS = """job_stats:
- job_id: dd.0
  snapshot_time: 1700000100.123456789
  start_time: 1699999000.000000000
  elapsed_time: 1100.123456789
  read_bytes: {samples: 0, unit: bytes, min: 0, max: 0, sum: 0, sumsq: 0}
  write_bytes: {samples: 20, unit: bytes, min: 1048576, max: 1048576, sum: 20971520, sumsq: 2199}
  getattr: {samples: 0, unit: usecs, min: 0, max: 0, sum: 0, sumsq: 0}
- job_id: ior.1234
  snapshot_time: 1700000090
  read_bytes: {samples: 10, unit: bytes, min: 4096, max: 1048576, sum: 5242880}
  write_bytes: {samples: 0, unit: bytes, min: 0, max: 0, sum: 0}
"""
BRW_STATS = """snapshot_time:         1700000100.123456789 secs.nsecs
start_time:            1699990000.000000000 secs.nsecs
elapsed_time:          10100.123456789 secs.nsecs

                           read      |     write
pages per bulk r/w     rpcs  % cum % |  rpcs  % cum %
1:                       2  20  20   |    0   0   0
256:                     8  80 100   |   20 100 100

                           read      |     write
disk I/O size          ios   % cum % |  ios   % cum %
4K:                      2  20  20   |    0   0   0
1M:                      8  80 100   |   20 100 100
"""
MD_STATS = """snapshot_time             1700000100.5 secs.nsecs
open                      120 samples [usecs] 3 900 5000 1200000
close                     118 samples [usecs] 2 50 900 12000
mkdir                     4 samples [usecs] 40 90 240 15000
getattr                   300 samples [usecs] 1 10 600 2000
"""
FS2_POOLS = "/proc/fs/lustre/lod/fs2-MDT0000-mdtlov/pools"
"""The MDT's pool files: one a pool, listing its OSTs' UUIDs."""
RECOVERING = """status: RECOVERING
recovery_start: 1700000000
time_remaining: 212
connected_clients: 3/8
req_replay_clients: 0
lock_repay_clients: 0
completed_clients: 1/8
evicted_clients: 0
replayed_requests: 0
queued_requests: 0
next_transno: 4294967297
"""


def write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def link(root: Path, path: str, points_to: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(points_to, target)


def block(
    root: Path, name: str, major_minor: str, sectors: int, *, under: str | None = None
) -> str:
    """A /sys/block entry (or, `under` a disk, a partition); returns its sysfs directory."""
    base = f"/sys/block/{under}/{name}" if under else f"/sys/block/{name}"
    write(root, f"{base}/dev", f"{major_minor}\n")
    write(root, f"{base}/size", f"{sectors}\n")
    write(root, f"{base}/ro", "0\n")
    (root / base.lstrip("/") / "holders").mkdir(exist_ok=True)
    (root / base.lstrip("/") / "slaves").mkdir(exist_ok=True)
    return base


def uses(root: Path, upper: str, lower: str) -> None:
    """`upper` (a dm or md device) is built on `lower`."""
    (root / f"sys/block/{upper}/slaves" / lower).mkdir(parents=True)
    lower_dir = next((root / "sys/block").glob(f"**/{lower}/holders"))
    (lower_dir / upper).mkdir()


def build_devices(root: Path) -> None:
    block(root, "ram0", "1:0", 8192)
    block(root, "loop0", "7:0", 0)
    block(root, "sda", "8:0", 20971520)
    block(root, "sda1", "8:1", 2048000, under="sda")
    write(root, "/sys/block/sda/sda1/partition", "1\n")
    write(root, "/run/udev/data/b8:1", "S:disk/by-uuid/1234\nE:ID_FS_TYPE=xfs\nE:ID_FS_UUID=1234\n")
    write(
        root, "/run/udev/data/b8:0", "E:ID_SERIAL=QEMU_HARDDISK_QM00001\nE:ID_SCSI_SERIAL=QM00001\n"
    )
    link(root, "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001", "../../sda")
    link(root, "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1", "../../sda1")
    # Two paths to one LUN, and the multipath map over them.
    for name, mm in (("sdb", "8:16"), ("sdc", "8:32")):
        block(root, name, mm, 209715200)
        write(root, f"/sys/block/{name}/device/wwid", f"naa.{WWID[1:]}\n")
        write(root, f"/run/udev/data/b{mm}", f"E:ID_SERIAL={WWID}\nE:ID_FS_TYPE=mpath_member\n")
    link(root, f"/dev/disk/by-id/scsi-{WWID}", "../../dm-0")
    link(root, f"/dev/disk/by-id/dm-uuid-mpath-{WWID}", "../../dm-0")
    link(root, f"/dev/disk/by-id/wwn-0x{WWID[1:]}", "../../sdb")
    block(root, "dm-0", "253:0", 209715200)
    write(root, "/sys/block/dm-0/dm/name", "mpatha\n")
    write(root, "/sys/block/dm-0/dm/uuid", f"mpath-{WWID}\n")
    uses(root, "dm-0", "sdb")
    uses(root, "dm-0", "sdc")
    write(root, "/run/udev/data/b253:0", "E:ID_FS_TYPE=lustre\nE:ID_FS_LABEL=fs2-OST0000\n")
    # An LVM volume on the system disk's partition.
    block(root, "dm-1", "253:1", 4194304)
    write(root, "/sys/block/dm-1/dm/name", "vg--data-lv1\n")
    write(root, "/sys/block/dm-1/dm/uuid", f"LVM-{LV_UUIDS}\n")
    uses(root, "dm-1", "sda1")


def build_lustre(root: Path) -> None:
    write(root, "/sys/fs/lustre/version", "2.15.4\n")
    write(root, "/sys/fs/lustre/health_check", "healthy\n")
    write(
        root,
        "/sys/kernel/debug/lustre/devices",
        "  0 UP osd-zfs MGS-osd MGS-osd_UUID 4\n"
        "  1 UP mgs MGS MGS 8\n"
        "  2 UP mgc MGC10.0.0.1@tcp 7c1a8e5f-3a1b-4e0c-9c7e-1d2f3a4b5c6d 4\n"
        "  3 UP osd-zfs fs2-MDT0000-osd fs2-MDT0000-osd_UUID 9\n"
        "  4 UP mds MDS MDS_uuid 2\n"
        "  5 UP lod fs2-MDT0000-mdtlov fs2-MDT0000-mdtlov_UUID 3\n"
        "  6 UP mdt fs2-MDT0000 fs2-MDT0000_UUID 12\n"
        "  7 UP mdd fs2-MDD0000 fs2-MDD0000_UUID 3\n"
        "  8 UP osp fs2-OST0000-osc-MDT0000 fs2-MDT0000-mdtlov_UUID 4\n"
        "  9 UP osd-ldiskfs fs2-OST0000-osd fs2-OST0000-osd_UUID 4\n"
        " 10 UP ost OSS OSS_uuid 2\n"
        " 11 UP obdfilter fs2-OST0000 fs2-OST0000_UUID 6\n",
    )
    osd_ost = "/sys/fs/lustre/osd-ldiskfs/fs2-OST0000"
    for name, value in (
        ("kbytestotal", 103081248),
        ("kbytesfree", 98000000),
        ("kbytesavail", 92800000),
        ("filestotal", 6553600),
        ("filesfree", 6553000),
    ):
        write(root, f"{osd_ost}/{name}", f"{value}\n")
    write(root, f"{osd_ost}/mntdev", "/dev/mapper/mpatha\n")
    write(root, f"{osd_ost}/fstype", "ldiskfs\n")
    ost_sys = "/sys/fs/lustre/obdfilter/fs2-OST0000"
    for name, value in (
        ("num_exports", 9),
        ("tot_dirty", 0),
        ("tot_granted", 8650752),
        ("tot_pending", 0),
    ):
        write(root, f"{ost_sys}/{name}", f"{value}\n")
    ost_proc = "/proc/fs/lustre/obdfilter/fs2-OST0000"
    write(root, f"{ost_proc}/stats", OST_STATS)
    write(root, f"{ost_proc}/job_stats", OST_JOB_STATS)
    write(root, f"{ost_proc}/recovery_status", RECOVERING)
    (root / ost_proc.lstrip("/") / "exports" / "10.0.0.21@tcp").mkdir(parents=True)
    (root / ost_proc.lstrip("/") / "exports" / "10.0.0.22@tcp").mkdir(parents=True)
    write(root, f"{ost_proc}/exports/clear", "")
    write(root, "/sys/kernel/debug/lustre/osd-ldiskfs/fs2-OST0000/brw_stats", BRW_STATS)
    osd_mdt = "/sys/fs/lustre/osd-zfs/fs2-MDT0000"
    for name, value in (
        ("kbytestotal", 52428800),
        ("kbytesfree", 52000000),
        ("kbytesavail", 52000000),
        ("filestotal", 104000000),
        ("filesfree", 103999000),
    ):
        write(root, f"{osd_mdt}/{name}", f"{value}\n")
    write(root, f"{osd_mdt}/mntdev", "mdtpool/mdt0\n")
    write(root, "/sys/fs/lustre/osd-zfs/MGS/mntdev", "mdtpool/mgt\n")
    write(root, "/sys/fs/lustre/mdt/fs2-MDT0000/num_exports", "11\n")
    write(root, "/proc/fs/lustre/mdt/fs2-MDT0000/md_stats", MD_STATS)
    write(root, "/proc/fs/lustre/mdt/fs2-MDT0000/job_stats", "job_stats:\n")
    write(root, "/proc/fs/lustre/mdt/fs2-MDT0000/recovery_status", "status: COMPLETE\n")
    write(root, "/sys/fs/lustre/mgs/MGS/num_exports", "14\n")
    write(root, "/sys/kernel/debug/lustre/mgs/MGS/filesystems", "fs2\n")
    write(root, f"{FS2_POOLS}/flash", "fs2-OST0000_UUID\n")
    write(root, f"{FS2_POOLS}/empty", "")
    write(
        root,
        "/proc/mounts",
        "/dev/sda2 / xfs rw,relatime 0 0\n"
        "proc /proc proc rw,nosuid 0 0\n"
        "mdtpool/mgt /mnt/mgt lustre ro,svname=MGS,nosvc,mgs 0 0\n"
        "mdtpool/mdt0 /mnt/fs2-mdt0 lustre ro,svname=fs2-MDT0000,mgsnode=10.0.0.1@tcp 0 0\n"
        "/dev/mapper/mpatha /mnt/fs2\\040ost0 lustre "
        "ro,svname=fs2-OST0000,mgsnode=10.0.0.1@tcp,10.1.0.1@o2ib:10.0.0.2@tcp,osd=osd-ldiskfs"
        " 0 0\n"
        "10.0.0.1@tcp:/fs2 /mnt/fs2 lustre rw,flock,user_xattr 0 0\n",
    )
    write(
        root,
        "/proc/modules",
        "ofd 200000 1 - Live 0xffffffffc0e00000\n"
        "ost 20000 1 - Live 0xffffffffc0d00000\n"
        "mdt 300000 3 - Live 0xffffffffc0c00000\n"
        "mgs 100000 1 - Live 0xffffffffc0b00000\n"
        "lustre 1000000 0 - Live 0xffffffffc0a00000\n"
        "ptlrpc 2000000 10 ofd,ost,mdt,mgs,lustre, Live 0xffffffffc0900000\n"
        "obdclass 3000000 12 ptlrpc, Live 0xffffffffc0800000\n"
        "lnet 600000 8 ptlrpc,obdclass,ksocklnd, Live 0xffffffffc0700000\n"
        "libcfs 400000 9 lnet,ptlrpc,obdclass, Live 0xffffffffc0600000\n",
    )
    write(
        root,
        "/sys/kernel/debug/lnet/nis",
        "nid                      status alive refs peer  rtr   max    tx   min\n"
        "0@lo                         up     0    2    0    0     0     0     0\n"
        "10.0.0.1@tcp                 up    -1   12    8    0   256   256   250\n"
        "192.168.5.1@o2ib             up    -1    4    8    0   256   256   256\n",
    )
    write(
        root,
        "/sys/kernel/debug/lnet/stats",
        "0 120 3 9000000 8800000 0 17 7e9 6e9 0 4096\n".replace("7e9", "7000000000").replace(
            "6e9", "6000000000"
        ),
    )


def build_host(root: Path) -> None:
    write(
        root,
        "/proc/stat",
        "cpu  1903 12 4410 960231 812 3 40 0 0 0\ncpu0 1903 12 4410 960231 812 3 40 0 0 0\n"
        "intr 1 2 3\nbtime 1699900000\nprocesses 9999\n",
    )
    write(
        root,
        "/proc/meminfo",
        "MemTotal:       32877112 kB\nMemFree:        20000000 kB\nMemAvailable:   28000000 kB\n"
        "SwapTotal:       8388604 kB\nSwapFree:        8388604 kB\nHugePages_Total:       0\n",
    )
    write(root, "/proc/loadavg", "0.52 0.41 0.30 2/811 12345\n")
    write(
        root,
        "/proc/net/dev",
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|"
        "bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
        "  eth0: 987654321 800000 1 0 0 0 0 12 123456789 700000 0 0 0 0 0 0\n",
    )
    write(root, "/sys/class/net/eth0/address", "52:54:00:12:34:56\n")
    write(root, "/sys/class/net/eth0/operstate", "up\n")


@pytest.fixture
def server(tmp_path: Path) -> Path:
    build_devices(tmp_path)
    build_lustre(tmp_path)
    build_host(tmp_path)
    return tmp_path


def collect(root: Path) -> dict[str, Any]:
    return full_report(Tree(root), NoCommands(), "mds1", now=1_700_000_200.0)


def test_current_lustre_targets_on_ldiskfs_and_zfs(server: Path) -> None:
    report = collect(server)
    lustre = report["lustre"]
    assert lustre["version"] == {"lustre": "2.15.4"}
    assert lustre["lnet"]["state"] == "up"
    assert lustre["lnet"]["nids"] == ["10.0.0.1@tcp", "192.168.5.1@o2ib"]
    targets = {t["label"]: t for t in lustre["targets"]}
    assert set(targets) == {"MGS", "fs2-MDT0000", "fs2-OST0000"}
    ost = targets["fs2-OST0000"]
    assert (ost["device"], ost["backend"], ost["mount_point"]) == (
        "/dev/mapper/mpatha",
        "ldiskfs",
        "/mnt/fs2 ost0",
    ), "/proc/mounts' \\040 is a space"
    assert ost["recovery"]["status"] == "RECOVERING"
    assert ost["recovery"]["time_remaining"] == 212
    assert ost["recovery"]["connected_clients"] == {"count": 3, "total": 8}
    mdt = targets["fs2-MDT0000"]
    assert (mdt["device"], mdt["backend"], mdt["mount_point"]) == (
        "mdtpool/mdt0",
        "zfs",
        "/mnt/fs2-mdt0",
    )
    assert targets["MGS"]["device"] == "mdtpool/mgt"
    assert lustre["clients"] == [
        {"fsname": "fs2", "source": "10.0.0.1@tcp:/fs2", "mount_point": "/mnt/fs2"}
    ]
    assert report["problems"] == []


def test_current_lustre_statistics(server: Path) -> None:
    stats = collect(server)["stats"]
    ost = stats["targets"]["fs2-OST0000"]
    assert (ost["kbytestotal"], ost["kbytesfree"], ost["kbytesavail"]) == (
        103081248,
        98000000,
        92800000,
    )
    assert (ost["filestotal"], ost["filesfree"]) == (6553600, 6553000)
    assert (ost["num_exports"], ost["tot_granted"]) == (9, 8650752)
    assert ost["exports"] == ["10.0.0.21@tcp", "10.0.0.22@tcp"]
    assert ost["stats"]["elapsed_time"] == pytest.approx(10100.123456789)
    assert ost["stats"]["counters"]["write_bytes"]["sumsq"] == 21990232555520
    assert ost["brw_stats"]["pages"] == {"read": {"1": 2, "256": 8}, "write": {"1": 0, "256": 20}}
    assert ost["brw_stats"]["disk_iosize"]["write"]["1M"] == 20
    jobs = {job["job_id"]: job for job in ost["job_stats"]}
    assert set(jobs) == {"dd.0", "ior.1234"}
    assert jobs["dd.0"]["metrics"]["write_bytes"]["sum"] == 20971520
    assert jobs["ior.1234"]["metrics"]["read_bytes"] == {
        "samples": 10,
        "unit": "bytes",
        "min": 4096,
        "max": 1048576,
        "sum": 5242880,
    }
    mdt = stats["targets"]["fs2-MDT0000"]
    assert mdt["md_stats"]["counters"]["mkdir"]["count"] == 4
    assert (mdt["kbytestotal"], mdt["filesfree"], mdt["num_exports"]) == (52428800, 103999000, 11)
    assert mdt["job_stats"] == [], "jobstats on, no jobs yet"
    assert stats["targets"]["MGS"]["num_exports"] == 14
    assert stats["lnet"]["send_count"] == 9000000 and stats["lnet"]["drop_length"] == 4096
    node = stats["node"]
    assert node["boot_time"] == 1699900000
    assert node["memory"]["MemAvailable"] == 28000000
    assert node["load"]["load_1"] == 0.52 and node["load"]["procs_total"] == 811


def test_the_pushes_carry_what_the_desktop_reads(server: Path) -> None:
    pushes = collect(server)["pushes"]
    state = pushes["lustre"]["state"]
    assert state["boot_time"] == 1699900000.0
    assert {
        m["label"]: (m["device"], m["mount_point"], m["recovery"]) for m in state["mounts"]
    } == {
        "MGS": ("mdtpool/mgt", "/mnt/mgt", "COMPLETE"),
        "fs2-MDT0000": ("mdtpool/mdt0", "/mnt/fs2-mdt0", "COMPLETE"),
        "fs2-OST0000": ("/dev/mapper/mpatha", "/mnt/fs2 ost0", "RECOVERING"),
    }
    mgs_nids = {m["label"]: m.get("mgs_nids") for m in state["mounts"]}
    assert mgs_nids == {
        "MGS": None,
        "fs2-MDT0000": ["10.0.0.1@tcp"],
        "fs2-OST0000": ["10.0.0.1@tcp", "10.1.0.1@o2ib", "10.0.0.2@tcp"],
    }, "from the mount options, in order: the primary MGS first"
    desktop = parse_push("mds1", {"kind": "lustre", "state": state}, received_at=RECEIVED)
    assert isinstance(desktop, LustreReported)
    assert desktop.report.mounted_devices == {"mdtpool/mgt", "mdtpool/mdt0", "/dev/mapper/mpatha"}
    assert desktop.report.pools == {"fs2": {"empty": (), "flash": ("fs2-OST0000",)}}
    records = {(r["subject"], r["metric"]): r["value"] for r in pushes["records"]}
    assert records[("fs2-OST0000", "write_bytes")] == 20971520.0
    assert records[("fs2-OST0000", "punch")] == 1.0
    assert records[("fs2-MDT0000", "open")] == 120.0
    assert records[("fs2-MDT0000", "kbytesfree")] == 52000000.0
    assert records[("node", "cpu_system")] == 4410 + 3 + 40
    assert records[("node", "load_5")] == 0.41
    assert all(r["t"] == 1_700_000_200.0 for r in pushes["records"])


def test_block_devices_from_sysfs_and_udev(server: Path) -> None:
    inventory = collect(server)["devices"]
    devices = {d["major_minor"]: d for d in inventory["devices"]}
    assert set(devices) == {"8:0", "8:1", "8:16", "8:32", "253:0", "253:1"}, (
        "no RAM disk, no empty loop device"
    )
    sda = devices["8:0"]
    assert (sda["path"], sda["serial"], sda["size_bytes"]) == (
        "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001",
        "QM00001",
        20971520 * 512,
    )
    sda1 = devices["8:1"]
    assert (sda1["parent"], sda1["partition_number"], sda1["filesystem"]) == ("8:0", 1, "xfs")
    assert sda1["path"] == "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1"
    sdb = devices["8:16"]
    assert sdb["path"] == f"/dev/disk/by-id/wwn-0x{WWID[1:]}"
    assert sdb["serial"] == WWID and sdb["holders"] == ["253:0"]
    assert devices["8:32"]["serial"] == WWID, "both paths of the LUN carry its serial"
    mpath = devices["253:0"]
    assert (mpath["path"], mpath["kind"], mpath["dm_uuid"]) == (
        "/dev/mapper/mpatha",
        "multipath",
        f"mpath-{WWID}",
    )
    assert mpath["slaves"] == ["8:16", "8:32"]
    assert (mpath["filesystem"], mpath["label"]) == ("lustre", "fs2-OST0000")
    lv = devices["253:1"]
    assert (lv["path"], lv["vg"], lv["lv"]) == ("/dev/mapper/vg--data-lv1", "vg-data", "lv1")
    assert lv["vg_uuid"] == "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
    assert lv["slaves"] == ["8:1"] and devices["8:1"]["holders"] == ["253:1"]


def test_without_udev_a_mounted_or_swap_device_still_shows_its_filesystem(server: Path) -> None:
    for entry in (server / "run/udev/data").iterdir():
        entry.unlink()
    block(server, "sda2", "8:2", 4096000, under="sda")
    write(server, "/sys/block/sda/sda2/partition", "2\n")
    block(server, "sda3", "8:3", 1024000, under="sda")
    write(server, "/sys/block/sda/sda3/partition", "3\n")
    write(
        server, "/proc/swaps", "Filename Type Size Used Priority\n/dev/sda3 partition 512000 0 -2\n"
    )
    devices = {d["major_minor"]: d for d in collect(server)["devices"]["devices"]}
    assert devices["8:2"]["filesystem"] == "xfs", "/dev/sda2 is / in /proc/mounts"
    assert devices["8:3"]["filesystem"] == "swap"
    assert devices["253:0"]["filesystem"] == "lustre", "mounted as a Lustre target"
    assert devices["8:16"]["filesystem"] is None


def test_the_desktop_accepts_the_devices_the_agent_pushes(server: Path) -> None:
    inventory = collect(server)["devices"]
    parsed = parse_report("devices", {"devices": device_records(inventory), "zpools": []}, "mds1")
    assert isinstance(parsed, DevicesReport)
    by_mm = {d.major_minor: d for d in parsed.devices}
    assert by_mm["253:0"].slaves == ("8:16", "8:32")
    assert by_mm["253:1"].vg == "vg-data" and by_mm["8:1"].parent == "8:0"
    assert by_mm["8:16"].serial == by_mm["8:32"].serial == WWID


def test_local_host_serves_the_probes(server: Path) -> None:
    host = LocalHost("mds1", root=server)
    assert {d["major_minor"] for d in host.devices()} >= {"253:0", "253:1"}
    state = host.lustre_state()
    assert state["lnet"] == "up" and len(state["mounts"]) == 3
    records = host.collect(1_700_000_300.0)
    assert {"fs2-OST0000", "fs2-MDT0000", "MGS", "node", "lnet"} == {r["subject"] for r in records}


class LctlOnly:
    """A live server whose OST statistics, filesystems and pools only lctl gives (debugfs
    unmounted); answers as lctl does and records what was asked."""

    ANSWERS = {
        ("get_param", "-n", "obdfilter.fs2-OST0000.brw_stats"): BRW_STATS,
        ("get_param", "-n", "obdfilter.fs2-OST0000.stats"): OST_STATS,
        ("get_param", "-n", "obdfilter.fs2-OST0000.recovery_status"): "status: COMPLETE\n",
        ("get_param", "-n", "mgs.MGS.filesystems"): "fs2\n",
        ("pool_list", "fs2"): "Pools from fs2:\nfs2.flash\nfs2.empty\n",
        ("pool_list", "fs2.flash"): "Pool: fs2.flash\nfs2-OST0000_UUID\n",
        ("pool_list", "fs2.empty"): "Pool: fs2.empty\n",
    }

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def output(self, argv: Sequence[str], tree: Tree) -> str | None:
        self.asked.append(list(argv))
        if argv[0] == "lctl" and tuple(argv[1:]) in self.ANSWERS:
            return self.ANSWERS[tuple(argv[1:])]
        if argv[0] == "lctl":
            tree.note(" ".join(argv), "exited with 2: No such file or directory")
        return None  # dmsetup, ip: as if not installed


def test_a_live_server_asks_lctl_for_what_no_file_holds(server: Path) -> None:
    ost_proc = server / "proc/fs/lustre/obdfilter/fs2-OST0000"
    for name in ("stats", "recovery_status"):
        (ost_proc / name).unlink()
    (server / "sys/kernel/debug/lustre/osd-ldiskfs/fs2-OST0000/brw_stats").unlink()
    commands = LctlOnly()
    report = full_report(Tree(server, live=True), commands, "oss1", now=1.0)
    ost = report["stats"]["targets"]["fs2-OST0000"]
    assert ost["stats"]["counters"]["read_bytes"]["sum"] == 5242880
    assert ost["brw_stats"]["pages"]["write"]["256"] == 20
    assert {t["label"]: t["recovery"] for t in report["lustre"]["targets"]}["fs2-OST0000"] == {
        "status": "COMPLETE"
    }
    assert [argv for argv in commands.asked if argv[0] == "lctl"] == [
        ["lctl", "get_param", "-n", "obdfilter.fs2-OST0000.recovery_status"],
        ["lctl", "get_param", "-n", "obdfilter.fs2-OST0000.stats"],
        ["lctl", "get_param", "-n", "obdfilter.fs2-OST0000.brw_stats"],
    ], "only what no file holds; the OSD's brw_stats not asked once obdfilter's answered"
    assert report["problems"] == []


# --- OST pools -----------------------------------------------------------------------------------


def test_the_mgs_reports_the_ost_pools_of_its_filesystems_from_the_mdts_pool_files(
    server: Path,
) -> None:
    report = collect(server)
    expected = {"fs2": {"empty": [], "flash": ["fs2-OST0000"]}}
    assert report["pushes"]["lustre"]["state"]["pools"] == expected, (
        "members without their _UUID, and a pool with none as an empty list"
    )
    assert report["lustre"]["pools"] == expected
    assert report["problems"] == []


def test_the_pools_of_a_live_server_without_pool_files_come_from_lctl_pool_list(
    server: Path,
) -> None:
    (server / "sys/kernel/debug/lustre/mgs/MGS/filesystems").unlink()
    for pool in (server / FS2_POOLS.lstrip("/")).iterdir():
        pool.unlink()
    (server / FS2_POOLS.lstrip("/")).rmdir()
    commands = LctlOnly()
    report = full_report(Tree(server, live=True), commands, "mds1", now=1.0)
    assert report["pushes"]["lustre"]["state"]["pools"] == {
        "fs2": {"empty": [], "flash": ["fs2-OST0000"]}
    }
    asked = [argv for argv in commands.asked if argv[0] == "lctl"]
    assert [argv for argv in asked if not argv[-1].startswith("obdfilter.")] == [
        ["lctl", "get_param", "-n", "mgs.MGS.filesystems"],
        ["lctl", "pool_list", "fs2"],
        ["lctl", "pool_list", "fs2.empty"],
        ["lctl", "pool_list", "fs2.flash"],
    ]
    assert report["problems"] == []


class StandaloneMgs(LctlOnly):
    """lctl on an MGS where no MDT or client of the filesystem runs: it has no pool files of
    it to read, and says the filesystem is not found."""

    def output(self, argv: Sequence[str], tree: Tree) -> str | None:
        if list(argv[:2]) == ["lctl", "pool_list"]:
            self.asked.append(list(argv))
            fsname = argv[2].partition(".")[0]
            tree.note(
                " ".join(argv),
                f"exited with 1: Lustre filesystem '{fsname}' not found: "
                "No such file or directory (2)",
            )
            return None
        return super().output(argv, tree)


def test_a_standalone_mgs_leaves_out_the_pools_it_cannot_read_and_says_why(server: Path) -> None:
    """The desktop deletes the pools a named filesystem no longer reports, so a filesystem
    whose pools cannot be read is not named at all, rather than named with no pools."""
    write(server, "/sys/kernel/debug/lustre/mgs/MGS/filesystems", "fs2\nfs3\n")
    live = full_report(Tree(server, live=True), StandaloneMgs(), "mgs", now=1.0)
    assert live["pushes"]["lustre"]["state"]["pools"] == {
        "fs2": {"empty": [], "flash": ["fs2-OST0000"]}
    }, "fs3, whose MDT runs elsewhere, is left out"
    assert live["problems"] == [
        {
            "path": "lctl pool_list fs3",
            "reason": "exited with 1: Lustre filesystem 'fs3' not found: "
            "No such file or directory (2)",
        }
    ]
    copy = collect(server)
    assert copy["pushes"]["lustre"]["state"]["pools"] == {
        "fs2": {"empty": [], "flash": ["fs2-OST0000"]}
    }
    assert copy["problems"] == [
        {
            "path": "/proc/fs/lustre/lov/fs3-*/pools",
            "reason": "missing: no MDT or client of fs3 runs here, so fs3's OST pools cannot "
            "be read; they are left out",
        }
    ]


def test_a_filesystem_with_a_pool_that_cannot_be_read_is_left_out_not_reported_in_part(
    server: Path,
) -> None:
    write(server, f"{FS2_POOLS}/flash", "fs2-OST0000_UUID\nfs2-OST00")
    report = collect(server)
    assert report["pushes"]["lustre"]["state"]["pools"] == {}, "not fs2 with `empty` alone"
    assert report["problems"] == [
        {
            "path": f"{FS2_POOLS}/flash",
            "reason": "line 2: 'fs2-OST00' is not an OST UUID (fs1-OST0000_UUID)",
        }
    ]


def test_a_pools_directory_that_cannot_be_listed_is_not_taken_for_one_without_pools(
    server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listdir = os.listdir

    def refusing(path: Any) -> list[str]:
        if str(path).endswith("/pools"):
            raise PermissionError(13, "Permission denied")
        return listdir(path)

    monkeypatch.setattr(os, "listdir", refusing)
    report = collect(server)
    assert report["pushes"]["lustre"]["state"]["pools"] == {}, "fs2 not named with no pools"
    assert report["problems"] == [
        {"path": FS2_POOLS, "reason": "cannot be listed: Permission denied"}
    ]


def test_a_server_without_an_mgs_reports_no_pools(server: Path) -> None:
    devices = server / "sys/kernel/debug/lustre/devices"
    devices.write_text(
        "".join(line for line in devices.read_text().splitlines(True) if " mgs " not in line)
    )
    report = collect(server)
    assert "MGS" not in {target["label"] for target in report["lustre"]["targets"]}
    assert "pools" not in report["pushes"]["lustre"]["state"]
    assert report["problems"] == []


class ZfsServer:
    """`zpool` and `zfs` as they answer on a server with one pool on one disk."""

    ANSWERS = {
        ("zpool", "list", "-H", "-p", "-o", "name,size,health,guid"): (
            "mdtpool\t107374182400\tONLINE\t1234567890123456789\n"
        ),
        ("zpool", "status", "-P"): (
            "  pool: mdtpool\n state: ONLINE\n  scan: none requested\nconfig:\n\n"
            "\tNAME                                   STATE     READ WRITE CKSUM\n"
            "\tmdtpool                                ONLINE       0     0     0\n"
            "\t  /dev/disk/by-id/scsi-35000c500aaaa   ONLINE       0     0     0\n\n"
            "errors: No known data errors\n"
        ),
        ("zfs", "list", "-H", "-p", "-o", "name,used,avail,type"): (
            "mdtpool\t4096000\t100000000000\tfilesystem\n"
            "mdtpool/mdt0\t2048000\t100000000000\tfilesystem\n"
        ),
    }

    def output(self, argv: Sequence[str], tree: Tree) -> str | None:
        return self.ANSWERS.get(tuple(argv))


def test_zfs_pools_and_datasets_reach_the_devices_push(server: Path) -> None:
    (server / "sys/module/zfs").mkdir(parents=True)
    block(server, "sdd", "8:48", 209715200)
    link(server, "/dev/disk/by-id/scsi-35000c500aaaa", "../../sdd")
    host = LocalHost("mds1", root=server, commands=ZfsServer())
    assert isinstance(host, ReportsZpools)
    devices = host.devices()
    assert host.zpools() == [
        {
            "name": "mdtpool",
            "size_bytes": 107374182400,
            "devices": ["8:48"],
            "guid": "1234567890123456789",
            "health": "ONLINE",
        }
    ]
    parsed = parse_report("devices", {"devices": devices, "zpools": host.zpools()}, "mds1")
    assert isinstance(parsed, DevicesReport) and parsed.zpools[0].devices == ("8:48",)
    report = full_report(Tree(server, live=True), ZfsServer(), "mds1", now=1.0)
    assert [d["name"] for d in report["devices"]["datasets"]] == ["mdtpool", "mdtpool/mdt0"]


# --- broken files --------------------------------------------------------------------------------


def test_each_broken_file_is_named_and_the_rest_still_read(server: Path) -> None:
    ost_proc = server / "proc/fs/lustre/obdfilter/fs2-OST0000"
    truncated = OST_STATS.replace("1048576 1048576 20971520 21990232555520", "1048576 10")
    (ost_proc / "stats").write_text(truncated)
    (ost_proc / "recovery_status").write_bytes(b"status: COMPLETE\x00\x00\x7f\x45\x4c\x46")
    (server / "sys/fs/lustre/osd-ldiskfs/fs2-OST0000/kbytesfree").write_text("")
    (server / "sys/fs/lustre/osd-zfs/fs2-MDT0000/filesfree").write_bytes(b"\xff\xfe12\n")
    (server / "proc/fs/lustre/mdt/fs2-MDT0000/job_stats").write_text(
        OST_JOB_STATS.replace("sum: 5242880}", "sum: 52")
    )
    (server / "sys/kernel/debug/lnet/stats").write_text("0 120 3 9000000\n")
    (server / "proc/meminfo").unlink()
    report = collect(server)
    problems = {p["path"]: p["reason"] for p in report["problems"]}
    assert problems == {
        "/proc/fs/lustre/obdfilter/fs2-OST0000/stats": (
            "line 5: write_bytes has 2 values after its unit, not 3 (min max sum) or 4 (with "
            "sumsq): the line may be truncated"
        ),
        "/proc/fs/lustre/obdfilter/fs2-OST0000/recovery_status": (
            "binary (it holds NUL bytes), not the text this file should be"
        ),
        "/sys/fs/lustre/osd-ldiskfs/fs2-OST0000/kbytesfree": (
            "empty: a whole number expected (the file may be truncated)"
        ),
        "/sys/fs/lustre/osd-zfs/fs2-MDT0000/filesfree": "not UTF-8 text (a bad byte at offset 0)",
        "/proc/fs/lustre/mdt/fs2-MDT0000/job_stats": (
            "line 11: read_bytes's { … } is not closed (truncated?)"
        ),
        "/sys/kernel/debug/lnet/stats": "4 numbers, not 11: the file may be truncated",
        "/proc/meminfo": "missing",
    }
    ost = report["stats"]["targets"]["fs2-OST0000"]
    assert "stats" not in ost and "kbytesfree" not in ost
    assert ost["kbytestotal"] == 103081248 and ost["brw_stats"]["pages"]["write"]["256"] == 20
    assert {t["label"]: t["recovery"] for t in report["lustre"]["targets"]}["fs2-OST0000"] is None
    assert report["stats"]["lnet"] is None and report["lustre"]["lnet"]["state"] == "up"
    assert "memory" not in report["stats"]["node"] and report["stats"]["node"]["cpu_total"] > 0
    assert len(report["pushes"]["lustre"]["state"]["mounts"]) == 3


def test_a_target_is_found_in_proc_mounts_by_its_service_name(server: Path) -> None:
    (server / "sys/fs/lustre/osd-zfs/fs2-MDT0000/mntdev").unlink()
    targets = {t["label"]: t for t in collect(server)["lustre"]["targets"]}
    mdt = targets["fs2-MDT0000"]
    assert (mdt["device"], mdt["mount_point"]) == ("mdtpool/mdt0", "/mnt/fs2-mdt0")


def test_lnet_loaded_but_down_is_told_from_up(server: Path) -> None:
    (server / "sys/kernel/debug/lnet/nis").write_text(
        "nid                      status alive refs peer  rtr   max    tx   min\n"
        "0@lo                         up     0    2    0    0     0     0     0\n"
    )
    lnet = collect(server)["lustre"]["lnet"]
    assert (lnet["state"], lnet["nids"]) == ("loaded", [])


def test_a_server_without_lustre_reports_its_devices_and_no_targets(tmp_path: Path) -> None:
    build_devices(tmp_path)
    build_host(tmp_path)
    write(tmp_path, "/proc/mounts", "/dev/sda2 / xfs rw 0 0\n")
    write(tmp_path, "/proc/modules", "xfs 1000 1 - Live 0xffffffffc0000000\n")
    report = collect(tmp_path)
    assert report["lustre"]["installed"] is False and report["lustre"]["targets"] == []
    assert report["lustre"]["lnet"]["state"] == "unloaded"
    assert len(report["devices"]["devices"]) == 6
    assert report["problems"] == []
