"""The server's block devices: disks and partitions from /sys/block, their serials and WWIDs
(udev's database, sysfs and /dev/disk/by-id), device-mapper maps classified as LVM volumes,
multipath maps or partitions of those (sysfs and `dmsetup table`), md arrays, and ZFS pools and
datasets where ZFS is installed.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls. Each device
becomes one plain mapping with the keys the desktop's `linux` plugin reads (path, major_minor,
size_bytes, serial, filesystem, label, parent, partition_number, slaves, holders, dm_uuid,
dm_name, vg, lv, vg_uuid, lv_uuid, md_uuid) plus a few it ignores (wwid, kind, by_id). The
stable path is the /dev/mapper name for device-mapper, else a /dev/disk/by-id name, else
/dev/<name>, as IML chose it, so two servers seeing one LUN name it alike.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from agentlink.daemon.probes import parsers
from agentlink.daemon.probes.source import Commands, Tree

SKIPPED_PREFIXES = ("ram", "fd", "sr", "zram")
"""RAM disks, floppies, optical drives and compressed swap never hold a Lustre target."""
_BY_ID_PREFERENCE = ("scsi-3", "wwn-", "scsi-", "nvme-eui", "nvme-", "ata-", "virtio-", "usb-")
_NOT_A_DISK_NAME = ("dm-", "md-", "lvm-pv-uuid-", "mpath-")
"""by-id names that name a device-mapper or md device, which get their own kind of path."""


def split_dm_name(name: str) -> tuple[str, str] | None:
    """`VG-LV` as device-mapper names LVM volumes, hyphens inside either name doubled:
    `my--vg-lv--1` → (`my-vg`, `lv-1`); None when there is no single hyphen."""
    match = re.fullmatch(r"((?:[^-]|--)+)-((?:[^-]|--)+)", name)
    if match is None:
        return None
    return match[1].replace("--", "-"), match[2].replace("--", "-")


def lvm_uuid(raw: str) -> str:
    """LVM shows its 32-character uuids in groups of 6-4-4-4-4-4-6."""
    if len(raw) != 32:
        return raw
    cuts = (0, 6, 10, 14, 18, 22, 26, 32)
    return "-".join(raw[a:b] for a, b in itertools.pairwise(cuts))


def dm_identity(name: str, uuid: str | None) -> dict[str, Any]:
    """What a device-mapper map is, from its name and uuid: an LVM volume (`LVM-<vg><lv>`),
    a multipath map (`mpath-<wwid>`), a partition of one (`part1-mpath-…`) or another kind."""
    found: dict[str, Any] = {"dm_name": name, "dm_uuid": uuid or None, "kind": "device-mapper"}
    if uuid and uuid.startswith("LVM-"):
        found["kind"] = "lvm"
        body = uuid[4:].split("-", 1)[0]
        if len(body) == 64:
            found["vg_uuid"], found["lv_uuid"] = lvm_uuid(body[:32]), lvm_uuid(body[32:])
        names = split_dm_name(name)
        if names is not None:
            found["vg"], found["lv"] = names
    elif uuid and uuid.startswith("mpath-"):
        found["kind"] = "multipath"
        found["wwid"] = uuid[len("mpath-") :]
    elif uuid and re.match(r"part\d+-", uuid):
        found["kind"] = "partition"
        found["partition_number"] = int(re.match(r"part(\d+)-", uuid)[1])  # type: ignore[index]
    return found


def classify_dm_maps(maps: list[dict[str, Any]], volume_groups: set[str]) -> dict[str, str]:
    """Each map of `dmsetup table` by kind when sysfs gives no uuid (as IML did): multipath by
    its target, an LVM volume when its name splits into a known volume group, a partition when
    it is a linear map named after the one map it sits on plus `pN` or `-partN`."""
    kinds: dict[str, str] = {}
    names = {entry["name"] for entry in maps}
    for entry in maps:
        name = entry["name"]
        split = split_dm_name(name)
        if "multipath" in entry["targets"]:
            kinds[name] = "multipath"
        elif split is not None and split[0] in volume_groups:
            kinds[name] = "lvm"
        elif any(
            re.fullmatch(re.escape(other) + r"(?:p|-part|_part)\d+", name)
            for other in names
            if other != name
        ):
            kinds[name] = "partition"
        else:
            kinds[name] = "device-mapper"
    return kinds


def multipath_members(
    maps: list[dict[str, Any]], mapper_major_minor: dict[str, str], devices: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The multipath maps of `dmsetup table`: per map its block device (major:minor of
    /dev/mapper/<name>) and its paths, each the device record of that path where known."""
    found: dict[str, dict[str, Any]] = {}
    for entry in maps:
        if "multipath" not in entry["targets"]:
            continue
        paths = [mm for group in entry.get("path_groups", []) for mm in group]
        found[entry["name"]] = {
            "name": entry["name"],
            "block_device": mapper_major_minor.get(entry["name"]),
            "nodes": [devices[mm] for mm in paths if mm in devices],
        }
    return found


class DeviceProbe:
    """Reads the block-device inventory of the tree (and, live, of a few commands)."""

    def __init__(self, tree: Tree, commands: Commands) -> None:
        self.tree = tree
        self.commands = commands

    def inventory(self) -> dict[str, Any]:
        tree = self.tree
        if not tree.is_dir("/sys/block"):
            tree.note("/sys/block", "missing: no block devices can be listed")
        by_id = self._by_id_names()
        found: dict[str, dict[str, Any]] = {}
        kernel_mm: dict[str, str] = {}
        for name in tree.entries("/sys/block"):
            if name.startswith(SKIPPED_PREFIXES):
                continue
            base = f"/sys/block/{name}"
            disk = self._device(name, base, by_id, parent=None)
            if disk is None:
                continue
            kernel_mm[name] = disk["major_minor"]
            found[disk["major_minor"]] = disk
            for child in tree.entries(base):
                if tree.exists(f"{base}/{child}/partition"):
                    part = self._device(child, f"{base}/{child}", by_id, parent=disk)
                    if part is not None:
                        kernel_mm[child] = part["major_minor"]
                        found[part["major_minor"]] = part
        for device in found.values():
            for key in ("slaves", "holders"):
                device[key] = [kernel_mm[n] for n in device.pop(f"_{key}") if n in kernel_mm]
        for device in found.values():
            for slave in device["slaves"]:
                holders = found[slave]["holders"]
                if device["major_minor"] not in holders:
                    holders.append(device["major_minor"])
        self._mark_in_use(found)
        maps = self._dm_table(found)
        zpools, datasets = self._zfs(found, by_id)
        return {
            "devices": sorted(found.values(), key=lambda d: _mm_key(d["major_minor"])),
            "zpools": zpools,
            "datasets": datasets,
            "multipath": multipath_members(
                maps,
                {d["dm_name"]: mm for mm, d in found.items() if d.get("dm_name")},
                found,
            ),
        }

    def _by_id_names(self) -> dict[str, list[str]]:
        """Kernel name → its /dev/disk/by-id names, preferred first."""
        names: dict[str, list[str]] = {}
        for link in self.tree.entries("/dev/disk/by-id"):
            target = self.tree.link_target(f"/dev/disk/by-id/{link}")
            if target:
                names.setdefault(target, []).append(link)
        for links in names.values():
            links.sort(key=_by_id_rank)
        return names

    def _device(
        self, name: str, base: str, by_id: dict[str, list[str]], parent: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        tree = self.tree
        major_minor = tree.value(f"{base}/dev")
        size = tree.value(f"{base}/size")
        if major_minor is None or not re.fullmatch(r"\d+:\d+", major_minor):
            tree.note(f"{base}/dev", "missing or not major:minor; the device is left out")
            return None
        if size is None or not size.isdigit():
            tree.note(f"{base}/size", "missing or not a number of sectors; device left out")
            return None
        if int(size) == 0 or tree.value(f"{base}/ro") == "1":
            return None  # no medium, an empty loop device, or read-only: never a target
        udev = (
            tree.parse(f"/run/udev/data/b{major_minor}", parsers.parse_udev_data, required=False)
            or {}
        )
        links = by_id.get(name, [])
        disk_links = [link for link in links if not link.startswith(_NOT_A_DISK_NAME)]
        device: dict[str, Any] = {
            "path": f"/dev/disk/by-id/{disk_links[0]}" if disk_links else f"/dev/{name}",
            "major_minor": major_minor,
            "size_bytes": int(size) * 512,
            "kernel_name": name,
            "kind": "partition" if parent is not None else "disk",
            "by_id": [f"/dev/disk/by-id/{link}" for link in links],
            "filesystem": udev.get("ID_FS_TYPE") or None,
            "label": udev.get("ID_FS_LABEL") or None,
            "fs_uuid": udev.get("ID_FS_UUID") or None,
            "_slaves": tree.entries(f"{base}/slaves"),
            "_holders": tree.entries(f"{base}/holders"),
        }
        if parent is not None:
            device["parent"] = parent["major_minor"]
            number = tree.value(f"{base}/partition")
            if number and number.isdigit():
                device["partition_number"] = int(number)
            device["serial"] = None
        else:
            wwid = (
                tree.value(f"{base}/device/wwid")
                or tree.value(f"{base}/wwid")
                or udev.get("ID_WWN")
                or None
            )
            device["wwid"] = wwid
            device["serial"] = (
                udev.get("ID_SCSI_SERIAL")
                or udev.get("ID_SERIAL")
                or tree.value(f"{base}/device/serial")
                or wwid
                or _serial_from_by_id(disk_links)
            )
        dm_name = tree.value(f"{base}/dm/name")
        if dm_name:
            device.update(dm_identity(dm_name, tree.value(f"{base}/dm/uuid")))
            device["path"] = f"/dev/mapper/{dm_name}"
            if device["kind"] == "multipath":
                device["serial"] = device.get("wwid")
            elif device["kind"] in ("lvm", "partition"):
                device["serial"] = None
        md_uuid = udev.get("MD_UUID") or _md_uuid(links)
        if name.startswith("md") and md_uuid:
            device["kind"], device["md_uuid"], device["serial"] = "md", md_uuid, None
            device["path"] = f"/dev/{name}"
        return device

    def _mark_in_use(self, found: dict[str, dict[str, Any]]) -> None:
        """A device mounted here (/proc/mounts) or used as swap (/proc/swaps) whose filesystem
        udev did not tell carries it from there, so the system disk is never offered as a
        volume even where udev's database is missing."""
        names: dict[str, dict[str, Any]] = {}
        for device in found.values():
            names[f"/dev/{device['kernel_name']}"] = device
            names[device["path"]] = device
            for link in device["by_id"]:
                names[link] = device
        used: list[tuple[str, str]] = [
            (mount["device"], mount["fstype"])
            for mount in self.tree.parse("/proc/mounts", parsers.parse_mounts, required=False) or []
        ]
        swaps = self.tree.text("/proc/swaps", required=False) or ""
        used += [(line.split()[0], "swap") for line in swaps.splitlines()[1:] if line.split()]
        for path, filesystem in used:
            user = names.get(path)
            if user is not None and user["filesystem"] is None:
                user["filesystem"] = filesystem

    def _dm_table(self, found: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """`dmsetup table` (live only, where device-mapper is in use): adds each map's target
        types and multipath path groups to its device."""
        if not any(d.get("dm_name") for d in found.values()) or not self.tree.is_live:
            return []
        text = self.commands.output(["dmsetup", "table"], self.tree)
        if text is None:
            return []
        maps = self.tree.parse_text("dmsetup table", text, parsers.parse_dmsetup_table) or []
        by_name = {d["dm_name"]: d for d in found.values() if d.get("dm_name")}
        for entry in maps:
            device = by_name.get(entry["name"])
            if device is not None:
                device["dm_targets"] = entry["targets"]
                if "path_groups" in entry:
                    device["path_groups"] = entry["path_groups"]
        return maps

    def _zfs(
        self, found: dict[str, dict[str, Any]], by_id: dict[str, list[str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Pools and datasets (live only, where the zfs module is loaded)."""
        tree = self.tree
        if not tree.is_dir("/sys/module/zfs") and not tree.exists("/proc/spl/kstat/zfs"):
            return [], []
        pools_text = self.commands.output(
            ["zpool", "list", "-H", "-p", "-o", "name,size,health,guid"], tree
        )
        if pools_text is None:
            return [], []
        pools = tree.parse_text("zpool list", pools_text, parsers.parse_zpool_list) or []
        status_text = self.commands.output(["zpool", "status", "-P"], tree) or ""
        members = {
            entry["name"]: entry["devices"]
            for entry in tree.parse_text("zpool status -P", status_text, parsers.parse_zpool_status)
            or []
        }
        kernel_mm = {d["kernel_name"]: mm for mm, d in found.items()}
        link_mm = {
            f"/dev/disk/by-id/{link}": kernel_mm[kernel]
            for kernel, links in by_id.items()
            if kernel in kernel_mm
            for link in links
        }
        for pool in pools:
            paths = members.get(pool["name"], [])
            pool["devices"] = [
                link_mm.get(path) or kernel_mm.get(path.rsplit("/", 1)[-1]) for path in paths
            ]
            pool["devices"] = [mm for mm in pool["devices"] if mm]
        datasets_text = self.commands.output(
            ["zfs", "list", "-H", "-p", "-o", "name,used,avail,type"], tree
        )
        datasets = (
            tree.parse_text("zfs list", datasets_text, parsers.parse_zfs_list)
            if datasets_text is not None
            else None
        )
        return pools, datasets or []


def _by_id_rank(link: str) -> tuple[int, str]:
    for rank, prefix in enumerate(_BY_ID_PREFERENCE):
        if link.startswith(prefix):
            return rank, link
    return len(_BY_ID_PREFERENCE), link


def _serial_from_by_id(links: list[str]) -> str | None:
    """`scsi-3600a0b80…` → `3600a0b80…`; `ata-Model_SERIAL` → as it is after its prefix."""
    for link in links:
        if "-part" in link:
            continue
        prefix, _, rest = link.partition("-")
        if rest and prefix in ("scsi", "wwn", "nvme", "ata", "virtio", "usb"):
            return rest
    return None


def _md_uuid(links: list[str]) -> str | None:
    for link in links:
        if link.startswith("md-uuid-"):
            return link[len("md-uuid-") :]
    return None


def _mm_key(major_minor: str) -> tuple[int, int]:
    major, _, minor = major_minor.partition(":")
    return int(major), int(minor)
