"""The builtin `linux` plugin: a server's block devices (disks, partitions, device-mapper and
multipath, md, LVM, ZFS pools) as resources, from which the runner derives volumes.

Layer: plugins. Thread: the database worker's. A disk with a serial (SCSI serial or WWID)
becomes a `ScsiDevice` identified by that serial alone, so the same LUN seen by two servers is
one resource and later one volume with a node on each server: that is how HA pairs are found.
Every device path is a `LinuxDeviceNode` of the reporting host; devices built on others
(partitions, multipath maps, LVs, md arrays, pools) hang below them, and a device with a local
filesystem (the system disk's xfs) carries a `LocalMount`, which keeps its drive from ever being
offered as a volume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plugins.api import (
    AgentReport,
    Bytes,
    DeviceNode,
    GlobalId,
    Integer,
    LogicalDrive,
    LogicalDriveOccupier,
    Plugin,
    PosixPath,
    Resource,
    ResourceError,
    ScopedId,
    StoragePool,
    String,
    optional,
)
from plugins.reports import BlockDevice, DevicesReport

FREE_FILESYSTEMS = frozenset({"lustre", "ldiskfs"})
"""Filesystems a volume may carry: a Lustre target, formatted or being set up."""

MEMBER_FILESYSTEMS = frozenset(
    {"LVM2_member", "zfs_member", "linux_raid_member", "mpath_member", "ddf_raid_member"}
)
"""Signatures of devices that something else is built on. Used by whatever the report shows on
top of them; if it shows nothing, the device counts as occupied all the same."""

_PARTITION_SUFFIX = re.compile(r"(?:p(?:art)?)?(\d+)$")


class ScsiDevice(LogicalDrive):
    """A disk or LUN with a serial: one resource however many servers see it."""

    identifier = GlobalId("serial")
    class_label = "SCSI device"
    serial = String(max_length=255)

    def volume_serial(self) -> str | None:
        return self.serial


class UnsharedDevice(LogicalDrive):
    """A disk without a serial: it cannot be recognised elsewhere, so it is its host's alone."""

    identifier = ScopedId("path")
    class_label = "Local device"
    path = PosixPath()


class LinuxDeviceNode(DeviceNode):
    """A block device path on the reporting server."""

    identifier = ScopedId("path")
    class_label = "Device"
    major_minor = String(max_length=16)
    size = optional(Bytes())
    label = optional(String(max_length=255))


class Partition(LogicalDrive):
    identifier = GlobalId("container", "number")
    container = String(max_length=512)
    """The identity of the drive the partition table is on (a serial or host:path)."""
    number = Integer(min_val=0)

    def get_label(self) -> str:
        return f"{self.container} partition {self.number}"


class MdRaid(LogicalDrive):
    identifier = GlobalId("uuid")
    class_label = "MD RAID"
    uuid = String(max_length=128)


class LvmGroup(StoragePool):
    identifier = GlobalId("uuid")
    class_label = "LVM volume group"
    uuid = String(max_length=128)
    name = String(max_length=128)


class LvmVolume(LogicalDrive):
    identifier = GlobalId("group", "name")
    group = String(max_length=128)
    """The volume group's uuid."""
    name = String(max_length=128)
    vg_name = String(max_length=128)
    uuid = optional(String(max_length=128))

    def get_label(self) -> str:
        return f"{self.vg_name}-{self.name}"


class ZfsPool(LogicalDrive):
    identifier = GlobalId("uuid")
    class_label = "ZFS pool"
    uuid = String(max_length=128)
    name = String(max_length=255)
    health = optional(String(max_length=32))


class LocalMount(LogicalDriveOccupier):
    """A non-Lustre filesystem (or an unexplained member signature) on a device: in use."""

    identifier = ScopedId("device")
    class_label = "Local filesystem"
    device = PosixPath()
    fstype = String(max_length=32)


def clean_serial(serial: str | None) -> str | None:
    """QEMU's made-up serials ("QEMU HARDDISK   drive-scsi0-0-0-1") keep only their trailing
    id, and only if it is long enough to tell disks apart."""
    if serial is None:
        return None
    serial = serial.strip()
    if "QEMU HARDDISK" in serial:
        tail = serial.split("QEMU HARDDISK", 1)[1].split()
        return tail[-1] if tail and len(tail[-1]) >= 4 else None
    return serial or None


@dataclass
class _Built:
    node: LinuxDeviceNode
    drive: LogicalDrive | None
    """The drive a partition of this device would be on."""
    drive_key: str


class LinuxPlugin(Plugin):
    report_kinds = frozenset({"devices"})
    resource_classes = (
        ScsiDevice,
        UnsharedDevice,
        LinuxDeviceNode,
        Partition,
        MdRaid,
        LvmGroup,
        LvmVolume,
        ZfsPool,
        LocalMount,
    )

    def scan(self, report: AgentReport) -> None:
        body = report.body
        assert isinstance(body, DevicesReport)
        self._host_id = report.host_id
        self._devices = {d.major_minor: d for d in body.devices}
        self._slaves: dict[str, list[str]] = {d.major_minor: list(d.slaves) for d in body.devices}
        for device in body.devices:
            for holder in device.holders:
                if holder in self._slaves and device.major_minor not in self._slaves[holder]:
                    self._slaves[holder].append(device.major_minor)
        self._built_on: set[str] = {s for slaves in self._slaves.values() for s in slaves}
        self._built_on |= {d.parent for d in body.devices if d.parent in self._devices}
        self._built_on |= {mm for pool in body.zpools for mm in pool.devices}
        self._done: dict[str, _Built] = {}
        self._visiting: set[str] = set()
        for device in body.devices:
            self._build(device)
        for pool in body.zpools:
            members = [
                self._build(self._devices[mm]).node for mm in pool.devices if mm in self._devices
            ]
            drive = self.update_or_create(
                ZfsPool,
                uuid=pool.guid or self._local_key(f"zpool:{pool.name}"),
                name=pool.name,
                size=pool.size_bytes,
                health=pool.health,
                parents=members,
            )
            # Lustre on ZFS names its device after the pool ("pool/dataset").
            self.update_or_create(
                LinuxDeviceNode, path=pool.name, major_minor="0:0", parents=[drive]
            )

    def _local_key(self, path: str) -> str:
        return f"host{self._host_id}:{path}"

    def _build(self, device: BlockDevice) -> _Built:
        done = self._done.get(device.major_minor)
        if done is not None:
            return done
        if device.major_minor in self._visiting:
            raise ResourceError(
                f"the devices report describes {device.path} as built on itself "
                "(a loop of slaves or parents)"
            )
        self._visiting.add(device.major_minor)
        built = self._build_new(device)
        self._visiting.discard(device.major_minor)
        self._done[device.major_minor] = built
        filesystem = device.filesystem
        occupied = filesystem is not None and filesystem not in FREE_FILESYSTEMS
        if occupied and (
            filesystem not in MEMBER_FILESYSTEMS or device.major_minor not in self._built_on
        ):
            self.update_or_create(
                LocalMount, device=device.path, fstype=filesystem, parents=[built.node]
            )
        return built

    def _node(self, device: BlockDevice, parents: list[Resource]) -> LinuxDeviceNode:
        return self.update_or_create(
            LinuxDeviceNode,
            path=device.path,
            major_minor=device.major_minor,
            size=device.size_bytes,
            filesystem=device.filesystem,
            label=device.label,
            parents=parents,
        )

    def _build_new(self, device: BlockDevice) -> _Built:
        slaves = [
            self._devices[mm] for mm in self._slaves[device.major_minor] if mm in self._devices
        ]
        container = None
        if device.parent in self._devices:
            container = self._devices[device.parent]
        elif device.dm_uuid is not None and device.dm_uuid.startswith("part") and len(slaves) == 1:
            container = slaves[0]
        if container is not None:
            return self._partition(device, self._build(container))
        if device.vg and device.lv:
            return self._logical_volume(device, [self._build(s).node for s in slaves])
        if device.md_uuid and slaves:
            members = [self._build(s) for s in slaves]
            md = self.update_or_create(
                MdRaid,
                uuid=device.md_uuid,
                size=device.size_bytes,
                parents=[m.node for m in members],
            )
            return _Built(self._node(device, [md]), md, device.md_uuid)
        if slaves:
            # Multipath maps and other device-mapper stacks: the drive is their first path's.
            members = [self._build(s) for s in slaves]
            node = self._node(device, [m.node for m in members])
            return _Built(node, members[0].drive, members[0].drive_key)
        serial = clean_serial(device.serial)
        drive: LogicalDrive
        if serial is not None:
            drive = self.update_or_create(ScsiDevice, serial=serial, size=device.size_bytes)
            key = serial
        else:
            drive = self.update_or_create(UnsharedDevice, path=device.path, size=device.size_bytes)
            key = self._local_key(device.path)
        return _Built(self._node(device, [drive]), drive, key)

    def _partition(self, device: BlockDevice, container: _Built) -> _Built:
        number = device.partition_number
        if number is None:
            match = _PARTITION_SUFFIX.search(device.path)
            number = int(match[1]) if match else 0
        partition = self.update_or_create(
            Partition,
            container=container.drive_key,
            number=number,
            size=device.size_bytes,
            parents=[container.node],
        )
        key = f"{container.drive_key}-part{number}"
        return _Built(self._node(device, [partition]), partition, key)

    def _logical_volume(self, device: BlockDevice, physical: list[LinuxDeviceNode]) -> _Built:
        assert device.vg is not None and device.lv is not None
        group = self.update_or_create(
            LvmGroup,
            uuid=device.vg_uuid or self._local_key(f"vg:{device.vg}"),
            name=device.vg,
            parents=physical,
        )
        volume = self.update_or_create(
            LvmVolume,
            group=group.uuid,
            name=device.lv,
            vg_name=device.vg,
            uuid=device.lv_uuid,
            size=device.size_bytes,
            parents=[group],
        )
        key = f"{group.uuid}/{device.lv}"
        return _Built(self._node(device, [volume]), volume, key)
