"""The builtin `linux_network` plugin: a server's network interfaces and its LNet NIDs.

Layer: plugins. Thread: the database worker's. NIDs come from the `lustre` report and are
normalised as core stores them (`10.0.0.1@tcp` → `10.0.0.1@tcp0`); the runner keeps them as the
host's Nid rows. While LNet is not up a server lists no NIDs, which says nothing about the ones
it has, so such a report leaves the known NIDs alone. Interfaces come from the `network` report,
with their byte counters as statistics.
"""

from __future__ import annotations

from plugins.api import (
    AgentReport,
    Counter,
    LNetNidResource,
    NetworkInterfaceResource,
    Plugin,
    ScopedId,
)
from plugins.reports import LustreReport, NetworkReport

LNET_TYPES = ("tcp", "o2ib", "gni", "ptl4")


class LNetNid(LNetNidResource):
    identifier = ScopedId("nid")
    class_label = "NID"


class HostInterface(NetworkInterfaceResource):
    identifier = ScopedId("name")
    class_label = "Network interface"
    rx_bytes = Counter("bytes")
    tx_bytes = Counter("bytes")
    charts = ({"title": "Bandwidth", "series": ("rx_bytes", "tx_bytes")},)


class LinuxNetworkPlugin(Plugin):
    report_kinds = frozenset({"lustre", "network"})
    resource_classes = (LNetNid, HostInterface)

    def scan(self, report: AgentReport) -> None:
        body = report.body
        if isinstance(body, LustreReport):
            if body.lnet != "up" or not body.nids:
                self.incomplete = True
                return
            for nid in body.nids:
                if nid.strip().lower().endswith("@lo"):
                    continue  # the loopback NID identifies no server
                self.update_or_create(LNetNid, nid=nid)
        elif isinstance(body, NetworkReport):
            for reading in body.interfaces:
                interface = self.update_or_create(
                    HostInterface,
                    name=reading.name,
                    mac_address=reading.mac_address,
                    inet4_address=reading.inet4_address,
                    inet6_address=reading.inet6_address,
                    network_type=reading.network_type
                    if reading.network_type in LNET_TYPES
                    else "tcp",
                    is_up=reading.is_up,
                )
                interface.rx_bytes = reading.rx_bytes
                interface.tx_bytes = reading.tx_bytes
