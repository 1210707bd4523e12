"""The Lustre audit and Lustre statistics of one server: which targets exist and run here
(their filesystem, kind, index, device, backing filesystem, mount point and recovery), the
Lustre version and health, LNet's state, NIDs and counters, client mounts, per target its
capacity and inodes, exports, stats, md_stats, brw_stats and job_stats, and where an MGS runs,
the OST pools of the filesystems it serves.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls. Lustre has moved
its files between versions: 1.8 and 2.0 keep everything under /proc/fs/lustre (1.8's MDT is an
`mds` device); the current 2.x series keeps single values under /sys/fs/lustre, stats and
job_stats under /proc/fs/lustre, and brw_stats and the device list under
/sys/kernel/debug/lustre, with capacity on the OSD (`osd-ldiskfs` or `osd-zfs`). `LustreParams`
reads a parameter by its `lctl` name from whichever of those has it and, on a live server where
none has it (debugfs not mounted), through `lctl get_param -n`. OST pools are read as lctl
reads them, from the pool files of a local LOV device of the filesystem (an MDT's or a
client's; the MGS itself keeps none), and on a live server without them through
`lctl pool_list`; a filesystem whose pools cannot all be read is left out, never reported in
part, since the desktop deletes the pools a named filesystem no longer reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from agentlink.daemon.probes import parsers
from agentlink.daemon.probes.source import Commands, Tree

T = TypeVar("T")

PARAM_ROOTS = ("/proc/fs/lustre", "/sys/fs/lustre", "/sys/kernel/debug/lustre")
OSD_MODULES = ("osd-ldiskfs", "osd-zfs")
CAPACITY_FIELDS = ("kbytestotal", "kbytesfree", "kbytesavail", "filestotal", "filesfree")
OST_GAUGES = ("num_exports", "tot_dirty", "tot_granted", "tot_pending")
LCTL_PARAMS = frozenset(
    {
        "version",
        "health_check",
        "recovery_status",
        "stats",
        "md_stats",
        "brw_stats",
        "job_stats",
        "filesystems",
    }
)
"""The parameters later Lustre versions moved about (debugfs, sysfs): asked of lctl on a live
server when no file has them. Single values stay put in /sys/fs/lustre and are not."""
POOL_DEVICE_MODULES = ("lod", "lov")
"""Where a filesystem's OST pools can be read here, one file a pool listing its OSTs: the LOV
device of an MDT (`lod` since 2.4, also shown under `lov`; `lov` before) or of a client."""
_POOL_DEVICE = re.compile(r"-(?:MDT[0-9a-fA-F]{4}-mdtlov|mdtlov|clilov-[^/]+)")
"""A LOV device's name after `<fsname>`: fs1-MDT0000-mdtlov (2.x MDT), fs1-mdtlov (1.8 MDT),
fs1-clilov-ffff8800355f5400 (a client)."""
LNET_DIRS = ("/proc/sys/lnet", "/sys/kernel/debug/lnet")
LUSTRE_MODULES = ("lnet", "libcfs", "ptlrpc", "obdclass", "lustre", "ost", "mdt", "mgs", "mds")


class LustreParams:
    """Lustre parameters by `lctl` name parts ("obdfilter", "fs1-OST0000", "stats")."""

    def __init__(self, tree: Tree, commands: Commands) -> None:
        self.tree = tree
        self.commands = commands

    def path(self, *parts: str) -> str | None:
        """The first file that holds this parameter, or None."""
        for root in PARAM_ROOTS:
            candidate = "/".join((root, *parts))
            if self.tree.exists(candidate):
                return candidate
        return None

    def devices_named(self, module: str) -> list[str]:
        """Directories under `module` in any of the roots (target names)."""
        names: set[str] = set()
        for root in PARAM_ROOTS:
            names.update(
                name
                for name in self.tree.entries(f"{root}/{module}")
                if self.tree.is_dir(f"{root}/{module}/{name}")
            )
        return sorted(names)

    def read(
        self, parts: tuple[str, ...], parser: Callable[[str], T], *, required: bool = False
    ) -> T | None:
        """The parameter parsed; a missing one is None (a problem only when `required`).
        On a live server a parameter of `LCTL_PARAMS` that no file holds is asked of
        `lctl get_param -n` (debugfs not mounted, or a layout this agent does not know)."""
        path = self.path(*parts)
        if path is not None:
            return self.tree.parse(path, parser)
        name = ".".join(parts)
        if self.tree.is_live and parts[-1] in LCTL_PARAMS:
            text = self.commands.output(["lctl", "get_param", "-n", name], self.tree)
            if text is not None:
                return self.tree.parse_text(f"lctl get_param {name}", text, parser)
            return None
        if required:
            self.tree.note(f"{PARAM_ROOTS[0]}/{'/'.join(parts)}", "missing")
        return None


class LustreProbe:
    def __init__(self, tree: Tree, commands: Commands) -> None:
        self.tree = tree
        self.commands = commands
        self.params = LustreParams(tree, commands)

    # --- the audit ------------------------------------------------------------------------------

    def modules(self) -> list[str]:
        return self.tree.parse("/proc/modules", parsers.parse_modules) or []

    def audit(self) -> dict[str, Any]:
        loaded = self.modules()
        params = self.params
        version = (
            params.read(("version",), parsers.parse_version)
            if "obdclass" in loaded or not self.tree.is_live
            else None
        )
        present = version is not None or any(
            self.tree.is_dir(root) for root in PARAM_ROOTS if root != PARAM_ROOTS[2]
        )
        mounts = self._mounts()
        targets = self.targets(mounts) if present else []
        return {
            "installed": present,
            "version": version,
            "health": params.read(("health_check",), parsers.parse_health) if present else None,
            "modules": [name for name in loaded if name in LUSTRE_MODULES],
            "lnet": self.lnet(loaded),
            "targets": targets,
            "clients": self.clients(mounts) if present else [],
        }

    def _mounts(self) -> list[dict[str, str]] | None:
        return self.tree.parse("/proc/mounts", parsers.parse_mounts)

    def lustre_devices(self) -> list[dict[str, Any]] | None:
        """The local Lustre devices (`lctl dl`), from whichever file lists them."""
        for path in ("/proc/fs/lustre/devices", "/sys/kernel/debug/lustre/devices"):
            if self.tree.exists(path):
                return self.tree.parse(path, parsers.parse_lustre_devices)
        if self.tree.is_live and self.tree.is_dir("/sys/fs/lustre"):
            text = self.commands.output(["lctl", "dl"], self.tree)
            if text is not None:
                return self.tree.parse_text("lctl dl", text, parsers.parse_lustre_devices)
        return None

    def targets(self, mounts: list[dict[str, str]] | None) -> list[dict[str, Any]]:
        """Every server target running here: from the device list where there is one, else
        from the directories the target modules keep per target."""
        listed = self.lustre_devices()
        found: dict[str, dict[str, Any]] = {}
        if listed is not None:
            for device in listed:
                name = parsers.target_name(device["name"])
                kind_ok = (
                    (device["type"] == "obdfilter" and name and name["kind"] == "OST")
                    or (device["type"] in ("mdt", "mds") and name and name["kind"] == "MDT")
                    or (device["type"] == "mgs" and name and name["kind"] == "MGT")
                )
                if name is None or not kind_ok:
                    continue
                found[name["label"]] = {
                    **name,
                    "uuid": device["uuid"],
                    "status": device["status"],
                    "running": device["status"] == "UP",
                }
        else:
            for module in ("obdfilter", "mdt", "mds", "mgs"):
                for directory in self.params.devices_named(module):
                    name = parsers.target_name(directory)
                    if name is not None and name["label"] not in found:
                        found[name["label"]] = {
                            **name,
                            "uuid": None,
                            "status": None,
                            "running": True,
                        }
        return [self._describe(target, mounts) for target in found.values()]

    def _module_of(self, target: dict[str, Any]) -> str:
        if target["kind"] == "OST":
            return "obdfilter"
        if target["kind"] == "MGT":
            return "mgs"
        return "mdt" if self.params.path("mdt", target["label"]) else "mds"

    def _osd(self, label: str) -> str | None:
        for module in OSD_MODULES:
            if self.params.path(module, label):
                return module
        return None

    def _describe(
        self, target: dict[str, Any], mounts: list[dict[str, str]] | None
    ) -> dict[str, Any]:
        label = target["label"]
        module = self._module_of(target)
        osd = self._osd(label)

        def value(name: str) -> str | None:
            for owner in (module, osd):
                if owner is not None:
                    found = self.params.read((owner, label, name), lambda text: text.strip())
                    if found:
                        return found
            return None

        device = value("mntdev")
        backend = value("fstype") or (osd[len("osd-") :] if osd else None)
        recovery = None
        if target["kind"] != "MGT":
            recovery = self.params.read(
                (module, label, "recovery_status"), parsers.parse_recovery_status, required=True
            )
        mount_point, mgs_nids = None, None
        for mount in mounts or []:
            # Later Lustre names the target in the options (svname=); else match the device.
            named = f"svname={label}" in mount["options"].split(",")
            if mount["fstype"] == "lustre" and (named or (device and mount["device"] == device)):
                mount_point = mount["mount_point"]
                mgs_nids = mgs_nids_of(mount["options"])
                device = device or mount["device"]
        return {
            **target,
            "module": module,
            "device": device,
            "backend": backend,
            "mount_point": mount_point,
            "mgs_nids": mgs_nids,
            "recovery": recovery,
        }

    def clients(self, mounts: list[dict[str, str]] | None) -> list[dict[str, Any]]:
        """Client mounts from /proc/mounts (`mgsnid:/fsname` sources), or, without it, the
        llite instances (`fs1-ffff8800355f5400`)."""
        if mounts is not None:
            return [
                {
                    "fsname": mount["device"].rpartition(":/")[2],
                    "source": mount["device"],
                    "mount_point": mount["mount_point"],
                }
                for mount in mounts
                if mount["fstype"] == "lustre" and ":/" in mount["device"]
            ]
        found = []
        for instance in self.params.devices_named("llite"):
            fsname, _, _ = instance.rpartition("-")
            found.append({"fsname": fsname or instance, "source": None, "mount_point": None})
        return found

    def lnet(self, loaded: list[str]) -> dict[str, Any]:
        """LNet's state as IML judged it (loaded: the module is in /proc/modules; up: its
        stats exist, and where the NIs can be read, one besides 0@lo is configured), its NIs,
        NIDs (without 0@lo) and counters."""
        directory = next((d for d in LNET_DIRS if self.tree.exists(f"{d}/stats")), None)
        is_loaded = "lnet" in loaded
        nis = (
            self.tree.parse(f"{directory}/nis", parsers.parse_nis, required=False)
            if directory
            else None
        )
        stats = (
            self.tree.parse(f"{directory}/stats", parsers.parse_lnet_stats) if directory else None
        )
        # Later LNet keeps its stats file while the network is down; its NIs tell then.
        up = is_loaded and directory is not None and (nis is None or len(nis) > 1)
        state = "up" if up else "loaded" if is_loaded else "unloaded"
        return {
            "state": state,
            "nids": [ni["nid"] for ni in nis or [] if ni["nid"] != "0@lo"],
            "interfaces": nis or [],
            "stats": stats,
        }

    # --- OST pools ------------------------------------------------------------------------------

    def pools(self, targets: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]] | None:
        """Where an MGS runs among `targets`: per filesystem it serves, its OST pools and the
        OSTs in each ("fs1-OST0000"). None where no MGS runs or its list of filesystems cannot
        be read. The desktop takes the pools reported for a filesystem as all it has, so a
        filesystem any part of whose pools cannot be read is left out, the reason noted."""
        if not any(target["kind"] == "MGT" and target["running"] for target in targets):
            return None
        fsnames = self.params.read(
            ("mgs", "MGS", "filesystems"), parsers.parse_fsnames, required=True
        )
        if fsnames is None:
            return None
        found: dict[str, dict[str, list[str]]] = {}
        for fsname in fsnames:
            pools = self._pools_of(fsname)
            if pools is not None:
                found[fsname] = pools
        return found

    def _pools_of(self, fsname: str) -> dict[str, list[str]] | None:
        """One filesystem's pools from the pool files of a LOV device of it here; on a live
        server without them, from `lctl pool_list`. A standalone MGS has neither: None."""
        devices = [
            (module, device)
            for module in POOL_DEVICE_MODULES
            for device in self.params.devices_named(module)
            if device.startswith(fsname) and _POOL_DEVICE.fullmatch(device, len(fsname))
        ]
        devices.sort(key=lambda found: "-clilov-" in found[1])  # an MDT's first
        directory = next(
            (
                path
                for module, device in devices
                if (path := self.params.path(module, device, "pools")) and self.tree.is_dir(path)
            ),
            None,
        )
        if directory is None and self.tree.is_live:
            return self._pools_from_lctl(fsname)
        if directory is None:
            # A copy of a server: name the directory it lacks, or why none could be here.
            module, device = devices[0] if devices else ("lov", f"{fsname}-*")
            self.tree.note(
                f"{PARAM_ROOTS[0]}/{module}/{device}/pools",
                ("missing" if devices else f"missing: no MDT or client of {fsname} runs here")
                + f", so {fsname}'s OST pools cannot be read; they are left out",
            )
            return None
        names = self.tree.listing(directory)
        if names is None:
            return None
        pools: dict[str, list[str]] = {}
        for name in names:
            members = self.tree.parse(f"{directory}/{name}", parsers.parse_pool_members)
            if members is None:
                return None
            pools[name] = members
        return pools

    def _pools_from_lctl(self, fsname: str) -> dict[str, list[str]] | None:
        listed = self._lctl_pool_list(fsname, parsers.parse_pool_list)
        if listed is None:
            return None
        pools: dict[str, list[str]] = {}
        for name in sorted(listed["pools"]):
            pool = self._lctl_pool_list(f"{fsname}.{name}", parsers.parse_pool_list_members)
            if pool is None:
                return None
            pools[name] = pool["members"]
        return pools

    def _lctl_pool_list(self, name: str, parser: Callable[[str], T]) -> T | None:
        argv = ["lctl", "pool_list", name]
        text = self.commands.output(argv, self.tree)
        return None if text is None else self.tree.parse_text(" ".join(argv), text, parser)

    # --- statistics -----------------------------------------------------------------------------

    def target_stats(self, target: dict[str, Any]) -> dict[str, Any]:
        """One target's numbers: capacity and inodes, exports, stats, brw_stats, job_stats."""
        label, module = target["label"], target["module"]
        osd = self._osd(label)
        found: dict[str, Any] = {}
        integer = parsers.parse_integer
        for name in CAPACITY_FIELDS:
            for owner in (module, osd):
                if owner is None or name in found:
                    continue
                value = self.params.read((owner, label, name), integer)
                if value is not None:
                    found[name] = value
        gauges = OST_GAUGES if target["kind"] == "OST" else ("num_exports",)
        for name in gauges:
            value = self.params.read((module, label, name), integer)
            if value is not None:
                found[name] = value
        exports = self.params.path(module, label, "exports")
        if exports is not None:
            found["exports"] = [name for name in self.tree.entries(exports) if "@" in name]
        # An MDT's operations are its md_stats (1.8: its stats); an OST's are its stats.
        stats_files = {"OST": ("stats",), "MDT": ("md_stats", "stats"), "MGT": ()}
        for name in stats_files[target["kind"]]:
            counters = self.params.read((module, label, name), parsers.parse_stats)
            if counters is not None:
                found[name] = counters
                break
        if target["kind"] == "OST":
            # obdfilter's brw_stats in 1.8 to 2.x, the OSD's in later 2.x (debugfs).
            for owner in (module, osd):
                if owner is not None and "brw_stats" not in found:
                    brw = self.params.read((owner, label, "brw_stats"), parsers.parse_brw_stats)
                    if brw is not None:
                        found["brw_stats"] = brw
        if target["kind"] != "MGT":
            jobs = self.params.read((module, label, "job_stats"), parsers.parse_job_stats)
            if jobs is not None:
                found["job_stats"] = jobs
        return found


def mgs_nids_of(options: str) -> list[str] | None:
    """The MGS NIDs a server target's mount options name (`mgsnode=10.0.0.1@tcp:10.0.0.2@tcp`,
    NIDs of one server comma-joined, servers colon-separated), in order; None when the
    options name none (an MGS, or a Lustre that does not show them)."""
    words = options.split(",")
    for position, word in enumerate(words):
        if word.startswith("mgsnode="):
            # A comma inside mgsnode's value splits the options too: the NIDs after it follow
            # as words with an '@' and no '='.
            value = [word[len("mgsnode=") :]]
            for more in words[position + 1 :]:
                if "=" in more or "@" not in more:
                    break
                value.append(more)
            return [nid for nid in re.split(r"[:,]", ",".join(value)) if nid]
    return None


def stat_values(target: dict[str, Any], numbers: dict[str, Any]) -> dict[str, float]:
    """A target's numbers as the metrics the desktop charts: the gauges as they are, each
    stats counter's count (bytes counters: their sum), as the simulator reports them."""
    values: dict[str, float] = {}
    for name in (*CAPACITY_FIELDS, *OST_GAUGES):
        if isinstance(numbers.get(name), int):
            values[name] = float(numbers[name])
    for key in ("stats", "md_stats"):
        counters = (numbers.get(key) or {}).get("counters", {})
        for name, counter in counters.items():
            if counter.get("unit") == "bytes" and "sum" in counter:
                values[name] = float(counter["sum"])
            else:
                values[name] = float(counter["count"])
    return values


def recovery_word(recovery: dict[str, Any] | None) -> str:
    """COMPLETE, RECOVERING or INACTIVE as the lustre report carries it."""
    status = (recovery or {}).get("status", "")
    if status in ("COMPLETE", "INACTIVE"):
        return str(status)
    return "RECOVERING" if status else "INACTIVE"
