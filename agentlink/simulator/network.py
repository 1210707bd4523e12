"""The simulated cluster on the network: one real agent per simulated server, each on its own
port of 127.0.0.1 (or another address given), each announced over zeroconf.

Layer: agentlink.simulator (imports nothing of core). Thread: the reactor thread. Every server
runs the real `AgentService` (TLS, pairing, dispatcher, journal, pushes) over its
`SimulatedServer`, with its own state directory `DIR/agents/<server>`. The servers' faults
reach the network as the machine model announces them: a crash or a power-off closes the
server's port and its links (a desktop sees the link die and its running actions end "outcome
unknown"); a boot opens the port again with a fresh agent; a dropped link is cut while the
server keeps running, and the desktop reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import defer

from agentlink.daemon.pki import PairingTokens
from agentlink.daemon.service import RunningAgent, start_agent
from agentlink.discovery import AgentAnnouncer
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.server import ServerEvent, SimulatedServer

log = logging.getLogger(__name__)

AGENTS_DIR = "agents"
TOKEN_TTL_S = 30 * 86400.0
"""A simulator's pairing token is chosen by whoever starts it and works for a month."""
JOURNAL_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ServedServer:
    name: str
    address: str
    port: int


class SimulatedNetwork:
    def __init__(
        self,
        cluster: SimulatedCluster,
        state_dir: Path,
        *,
        reactor: Any,
        software_version: str,
        address: str = "127.0.0.1",
        port_base: int = 0,
        pairing_token: str | None = None,
        announcer: AgentAnnouncer | None = None,
        report_interval_s: float = 10.0,
        heartbeat_s: float | None = None,
    ) -> None:
        self.cluster = cluster
        self.state_dir = state_dir
        self.reactor = reactor
        self.software_version = software_version
        self.address = address
        self.port_base = port_base
        self.pairing_token = pairing_token
        self.announcer = announcer
        self.report_interval_s = report_interval_s
        self.heartbeat_s = heartbeat_s
        self.agents: dict[str, RunningAgent] = {}
        self.ports: dict[str, int] = {}
        self._observer: Callable[[SimulatedServer, ServerEvent], None] = self._on_event

    def start(self) -> list[ServedServer]:
        """Serve every server that is up; returns name, address and port of each."""
        self.cluster.add_observer(self._observer)
        for index, name in enumerate(self.cluster.servers):
            agent_dir = self.state_dir / AGENTS_DIR / name
            if self.pairing_token is not None:
                PairingTokens(agent_dir).allow(self.pairing_token, TOKEN_TTL_S)
            self.ports[name] = self.port_base + index if self.port_base else 0
            if self.cluster.server(name).online:
                self._serve(name)
        return [ServedServer(name, self.address, self.ports[name]) for name in self.cluster.servers]

    def stop(self) -> defer.Deferred[None]:
        self.cluster.remove_observer(self._observer)
        stopping = [agent.stop("the simulator is stopping") for agent in self.agents.values()]
        self.agents.clear()
        return defer.DeferredList(stopping).addCallback(lambda _: None)

    def _serve(self, name: str) -> None:
        timing = (
            {}
            if self.heartbeat_s is None
            else {
                "heartbeat_s": self.heartbeat_s,
                "dead_after_s": self.heartbeat_s * 3,
            }
        )
        agent = start_agent(
            self.cluster.server(name),
            self.state_dir / AGENTS_DIR / name,
            reactor=self.reactor,
            software_version=self.software_version,
            port=self.ports[name],
            interface=self.address,
            journal_max_bytes=JOURNAL_MAX_BYTES,
            report_interval_s=self.report_interval_s,
            announcer=self.announcer,
            announce_addresses=[self.address] if self.announcer is not None else [],
            **timing,
        )
        self.agents[name] = agent
        self.ports[name] = agent.port  # the port the system chose, with no port base

    def _on_event(self, server: SimulatedServer, event: ServerEvent) -> None:
        name = server.hostname
        agent = self.agents.get(name)
        if event in (ServerEvent.CRASHED, ServerEvent.POWERED_OFF):
            if agent is not None:
                del self.agents[name]
                agent.service.stop_reporting()
                for link in list(agent.service.links):
                    link.abort(f"{name} {event.value}")  # no goodbye from a dead machine
                agent.stop(f"{name} {event.value}")
        elif event == ServerEvent.BOOTED:
            if agent is None:
                self._serve(name)
        elif event == ServerEvent.LINK_DROPPED and agent is not None:
            for link in list(agent.service.links):
                link.abort(f"the link to {name} was dropped")
