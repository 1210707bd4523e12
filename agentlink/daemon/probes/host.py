"""The host under the Lustre targets: CPU, memory and load from /proc, its boot time, and its
network interfaces (counters from /proc/net/dev, state and address from /sys/class/net, IP
addresses from `ip -o addr` on a live server) with the LNet network each one carries.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls.
"""

from __future__ import annotations

import re
from typing import Any

from agentlink.daemon.probes import parsers
from agentlink.daemon.probes.source import Commands, Tree

KEPT_MEMINFO = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree")
_IP_ADDR = re.compile(
    r"^\d+:\s+(?P<name>\S+?)(?:@\S+)?\s+(?P<family>inet6?)\s+(?P<address>[^/\s]+)"
)


def parse_ip_addr(text: str) -> dict[str, dict[str, str]]:
    """`ip -o addr show`: `2: eth0    inet 10.0.0.5/24 brd … scope global eth0` → per
    interface its first IPv4 and IPv6 address. Lines of other shapes are skipped."""
    found: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = _IP_ADDR.match(line)
        if match is not None:
            key = "inet4_address" if match["family"] == "inet" else "inet6_address"
            found.setdefault(match["name"], {}).setdefault(key, match["address"])
    return found


class HostProbe:
    def __init__(self, tree: Tree, commands: Commands) -> None:
        self.tree = tree
        self.commands = commands

    def node(self) -> dict[str, Any]:
        """CPU jiffies, memory (kB), load and boot time."""
        tree = self.tree
        found: dict[str, Any] = {}
        cpu = tree.parse("/proc/stat", parsers.parse_proc_stat)
        if cpu is not None:
            found.update(cpu)
        memory = tree.parse("/proc/meminfo", parsers.parse_meminfo)
        if memory is not None:
            found["memory"] = {name: memory[name] for name in KEPT_MEMINFO if name in memory}
        load = tree.parse("/proc/loadavg", parsers.parse_loadavg)
        if load is not None:
            found["load"] = load
        if found.get("boot_time") is None:
            uptime = tree.parse("/proc/uptime", parsers.parse_uptime, required=False)
            found["uptime_s"] = uptime
        return found

    def interfaces(self, nids: list[str]) -> list[dict[str, Any]]:
        """Every network interface but loopback, with the LNet network of the NID on its
        address (when there is one)."""
        counters = self.tree.parse("/proc/net/dev", parsers.parse_net_dev) or []
        addresses: dict[str, dict[str, str]] = {}
        if self.tree.is_live:
            text = self.commands.output(["ip", "-o", "addr", "show"], self.tree)
            addresses = parse_ip_addr(text or "")
        by_address = {nid.partition("@")[0]: nid.partition("@")[2] for nid in nids}
        found = []
        for entry in counters:
            name = entry["name"]
            if name == "lo":
                continue
            base = f"/sys/class/net/{name}"
            state = self.tree.value(f"{base}/operstate")
            interface: dict[str, Any] = {
                **entry,
                "mac_address": self.tree.value(f"{base}/address"),
                "is_up": state in ("up", "unknown") if state else True,
                **addresses.get(name, {}),
            }
            network = by_address.get(interface.get("inet4_address") or "")
            if network:
                interface["lnet_network"] = network
                interface["network_type"] = re.sub(r"\d+$", "", network)
            found.append(interface)
        return found
