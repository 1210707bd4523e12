"""What the desktop's pre-flight checks need to know of a server before it is paired: its names
and addresses, its kernel, which Lustre tools and modules are installed, whether Lustre is loaded,
LNet's state, NIDs and configured networks.

Layer: agentlink.daemon.probes (standard library only). Thread: whoever calls (the agent's
reactor thread, once per pre-flight question). Modules installed for the running kernel are
read from its `modules.dep` (depmod's list, which also covers weak-updates), not by walking
/lib/modules; LNet's configured networks from `options lnet networks=` in /etc/modprobe.d and
from the `net:` list of /etc/lnet.conf (the YAML `lnetctl export` writes, which lnet.service
imports: how Lustre 2.10 and later are often set up). On a live server `hostname --fqdn` and
`ip -o addr show` are run with the probes' timeout.
"""

from __future__ import annotations

import re
from typing import Any

from agentlink.daemon.probes.host import parse_ip_addr
from agentlink.daemon.probes.lustre import LustreProbe
from agentlink.daemon.probes.source import Commands, Tree

LUSTRE_TOOLS = ("mkfs.lustre", "lctl", "mount.lustre")
TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
"""Where the tools are looked for: the agent's own PATH for commands (`SAFE_PATH`)."""
WANTED_MODULES = frozenset(
    {"lnet", "libcfs", "obdclass", "ptlrpc", "lustre", "mgs", "mdt", "ost", "ldiskfs"}
    | {"osd_ldiskfs", "osd_zfs"}
)
_MODULE_FILE = re.compile(r"(?:^|/)(?P<name>[^/:\s]+)\.ko(?:\.(?:xz|gz|zst))?:")
_LNET_NETWORKS = re.compile(
    r"^\s*options\s+lnet\b.*?\bnetworks=(?P<quote>[\"']?)(?P<networks>[^\"'\s]+)(?P=quote)",
    re.MULTILINE,
)
LNET_CONF = "/etc/lnet.conf"
_NET_TYPE = re.compile(r"^\s*(?:-\s*)?net type:\s*(?P<net>[\w.]+)\s*$")
_INTERFACE = re.compile(r"^\s*\d+:\s*(?P<interface>[\w.:-]+)\s*$")
_TOP_LEVEL = re.compile(r"^[^\s#-]")  # a key of the file itself (not a list item)


def preflight_facts(tree: Tree, commands: Commands, hostname: str) -> dict[str, Any]:
    """The facts `core.preflight.AgentFacts` reads (all but the time, which the agent adds)."""
    lustre = LustreProbe(tree, commands)
    audit = lustre.audit()
    kernel = tree.value("/proc/sys/kernel/osrelease")
    node_name = tree.value("/proc/sys/kernel/hostname") or hostname
    fqdn = ""
    addresses: list[str] = []
    if tree.is_live:
        fqdn = (commands.output(["hostname", "--fqdn"], tree) or "").strip()
        found = parse_ip_addr(commands.output(["ip", "-o", "addr", "show"], tree) or "")
        addresses = sorted({a for entry in found.values() for a in entry.values()})
    lnet = audit["lnet"]
    return {
        "hostname": node_name,
        "fqdn": fqdn or node_name,
        "addresses": addresses,
        "kernel": kernel,
        "lustre_version": _version_text(audit.get("version")),
        "lustre_proc": bool(audit["installed"]),
        "modules_loaded": [_module_name(m) for m in lustre.modules()],
        "modules_available": installed_modules(tree, kernel),
        "tools": [
            tool for tool in LUSTRE_TOOLS if any(tree.exists(f"{d}/{tool}") for d in TOOL_DIRS)
        ],
        "lnet_state": lnet["state"],
        "nids": list(lnet["nids"]),
        "lnet_networks": lnet_networks(tree),
    }


def installed_modules(tree: Tree, kernel: str | None) -> list[str] | None:
    """The Lustre modules depmod lists for `kernel`; None when that cannot be read."""
    if not kernel:
        return None
    text = tree.text(f"/lib/modules/{kernel}/modules.dep", required=False)
    if text is None:
        return None
    names = {_module_name(m["name"]) for m in _MODULE_FILE.finditer(text)}
    return sorted(names & WANTED_MODULES)


def lnet_networks(tree: Tree) -> list[str]:
    """`options lnet networks=tcp0(eth0),o2ib0(ib0)` of every /etc/modprobe.d/*.conf, then the
    networks of /etc/lnet.conf, written the same way."""
    found: list[str] = []
    for name in tree.entries("/etc/modprobe.d"):
        if not name.endswith(".conf"):
            continue
        text = tree.text(f"/etc/modprobe.d/{name}", required=False) or ""
        for match in _LNET_NETWORKS.finditer(text):
            found.extend(n for n in re.split(r"[,;]", match["networks"]) if n)
    found += lnet_conf_networks(tree.text(LNET_CONF, required=False) or "")
    return list(dict.fromkeys(found))


def lnet_conf_networks(text: str) -> list[str]:
    """The networks of the `net:` list of an lnet.conf (`- net type: o2ib1`, its interfaces
    under `interfaces:` as `0: ib0`), as `o2ib1(ib0)`; the loopback network left out."""
    nets: list[tuple[str, list[str]]] = []
    in_nets = False
    for line in text.splitlines():
        if _TOP_LEVEL.match(line):
            in_nets = line.split("#", 1)[0].strip() == "net:"
            continue
        if not in_nets:
            continue
        net_type = _NET_TYPE.match(line)
        if net_type:
            nets.append((net_type["net"], []))
        elif nets and (interface := _INTERFACE.match(line)):
            nets[-1][1].append(interface["interface"])
    return [
        f"{net}({','.join(interfaces)})" if interfaces else net
        for net, interfaces in nets
        if net != "lo"
    ]


def _module_name(name: str) -> str:
    return name.replace("-", "_")


def _version_text(version: object) -> str | None:
    if isinstance(version, dict):
        text = version.get("lustre") or version.get("version")
        return None if text is None else str(text)
    return None if version is None else str(version)
