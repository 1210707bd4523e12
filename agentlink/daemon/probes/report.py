"""The whole report of one server, and the three shapes the agent pushes derived from it: the
device records, the Lustre state and the statistics records.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls. `full_report`
is what `chroma-agent collect --json` prints: every probe's findings plus `problems`, one per
file or command that was missing, binary, truncated or malformed, so a bad file costs its own
values and nothing else. `device_records`, `lustre_state` and `stat_records` turn a report into
the shapes of `agentlink.daemon.backend` that `LocalHost` hands to the agent's service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

from agentlink.daemon.backend import DeviceRecord, LustreState, MountRecord, StatRecord
from agentlink.daemon.probes.devices import DeviceProbe
from agentlink.daemon.probes.host import HostProbe
from agentlink.daemon.probes.lustre import LustreProbe, recovery_word, stat_values
from agentlink.daemon.probes.source import Commands, LiveCommands, NoCommands, Tree

REPORT_FORMAT = 1
DEVICE_KEYS = (
    "parent",
    "partition_number",
    "slaves",
    "holders",
    "dm_uuid",
    "dm_name",
    "vg",
    "lv",
    "vg_uuid",
    "lv_uuid",
    "md_uuid",
)
"""Optional keys of a device the desktop's `linux` plugin reads (plugins/reports.py)."""


def probe_tree(root: Path) -> tuple[Tree, Commands]:
    """A tree at `root` and what runs commands for it: real commands for this machine only."""
    tree = Tree(root)
    return tree, LiveCommands() if tree.is_live else NoCommands()


def full_report(tree: Tree, commands: Commands, hostname: str, now: float) -> dict[str, Any]:
    """Everything the probes find under `tree`, with the problems they met."""
    lustre = LustreProbe(tree, commands)
    audit = lustre.audit()
    pools = lustre.pools(audit["targets"])
    inventory = DeviceProbe(tree, commands).inventory()
    stats = statistics(lustre, audit)
    return {
        "format": REPORT_FORMAT,
        "hostname": hostname,
        "root": str(tree.root),
        "collected_at": now,
        "devices": inventory,
        "lustre": {**audit, "pools": pools},
        "network": {"interfaces": HostProbe(tree, commands).interfaces(audit["lnet"]["nids"])},
        "stats": stats,
        "pushes": {
            "devices": {"devices": device_records(inventory), "zpools": zpool_records(inventory)},
            "lustre": {
                "state": lustre_state(audit, boot_time_of(stats["node"], now), tree, pools=pools)
            },
            "records": stat_records(audit, stats, now),
        },
        "problems": tree.problems,
    }


def statistics(lustre: LustreProbe, audit: dict[str, Any]) -> dict[str, Any]:
    """Each running target's numbers, the node's and LNet's, for an audit `lustre` made."""
    return {
        "targets": {
            target["label"]: lustre.target_stats(target)
            for target in audit["targets"]
            if target["running"]
        },
        "node": HostProbe(lustre.tree, lustre.commands).node(),
        "lnet": audit["lnet"]["stats"],
    }


def device_records(inventory: dict[str, Any]) -> list[DeviceRecord]:
    """The devices as the agent pushes them: the required keys, then the optional ones the
    desktop reads where they are known. A device of a Lustre target carries its label."""
    records = []
    for device in inventory["devices"]:
        record = DeviceRecord(
            path=device["path"],
            serial=device.get("serial") or "",
            size_bytes=device["size_bytes"],
            major_minor=device["major_minor"],
            filesystem=device.get("filesystem"),
            label=device.get("label"),
        )
        extra = cast(dict[str, Any], record)
        for key in DEVICE_KEYS:
            value = device.get(key)
            if value not in (None, []):
                extra[key] = value
        records.append(record)
    return records


def zpool_records(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """The ZFS pools as the desktop's `linux` plugin reads them."""
    return [
        {
            "name": pool["name"],
            "size_bytes": pool["size_bytes"],
            "devices": pool["devices"],
            "guid": pool.get("guid"),
            "health": pool.get("health"),
        }
        for pool in inventory["zpools"]
    ]


def lustre_state(
    audit: dict[str, Any],
    boot_time: float,
    tree: Tree,
    *,
    pools: dict[str, dict[str, list[str]]] | None,
) -> LustreState:
    """LNet, NIDs and the targets mounted here and, where an MGS runs, the OST pools
    `LustreProbe.pools` read (left out when None). A target whose mount point /proc/mounts
    does not show is left out (the desktop needs both), and that is noted in `tree`'s
    problems."""
    mounts = []
    for target in audit["targets"]:
        if not target["running"]:
            continue
        if not target["device"] or not target["mount_point"]:
            tree.note(
                "/proc/mounts",
                f"{target['label']} runs here but its device or mount point is unknown; "
                "it is left out of the Lustre state",
            )
            continue
        mount = MountRecord(
            label=target["label"],
            device=target["device"],
            mount_point=target["mount_point"],
            recovery=recovery_word(target["recovery"]) if target["kind"] != "MGT" else "COMPLETE",
        )
        if target["kind"] != "MGT" and target.get("mgs_nids"):
            mount["mgs_nids"] = list(target["mgs_nids"])
        mounts.append(mount)
    lnet = cast(Literal["unloaded", "loaded", "up"], audit["lnet"]["state"])
    state = LustreState(
        lnet=lnet, nids=list(audit["lnet"]["nids"]), mounts=mounts, boot_time=boot_time
    )
    if pools is not None:
        state["pools"] = pools
    return state


def boot_time_of(node: dict[str, Any], now: float) -> float:
    """When the server booted: /proc/stat's btime, else now less /proc/uptime."""
    if node.get("boot_time") is not None:
        return float(node["boot_time"])
    if node.get("uptime_s") is not None:
        return now - float(node["uptime_s"])
    return 0.0


def stat_records(audit: dict[str, Any], stats: dict[str, Any], now: float) -> list[StatRecord]:
    """The statistics as records: per target, "node" and "lnet", as the simulator names them."""
    records: list[StatRecord] = []

    def add(subject: str, metric: str, value: float) -> None:
        records.append(StatRecord(kind="stat", t=now, subject=subject, metric=metric, value=value))

    targets = {target["label"]: target for target in audit["targets"]}
    for label, numbers in stats["targets"].items():
        for metric, value in stat_values(targets[label], numbers).items():
            add(label, metric, value)
    node = stats["node"]
    for name in ("cpu_user", "cpu_system", "cpu_idle", "cpu_iowait", "cpu_total"):
        if name in node:
            add("node", name, float(node[name]))
    for name, value in (node.get("memory") or {}).items():
        add("node", f"mem_{name}", float(value))
    for name, value in (node.get("load") or {}).items():
        add("node", name, float(value))
    for name, value in (stats["lnet"] or {}).items():
        add("lnet", name, float(value))
    return records
