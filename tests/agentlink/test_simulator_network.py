"""The simulator on the network: real agents over simulated servers on 127.0.0.1, paired with
the simulator's token, running actions, pushing state, and going away when a server crashes.
Also `chroma-agent simulate` and `simulate-control` as an admin runs them."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentlink.authority import DesktopAuthority
from agentlink.connector import AgentEndpoint, AgentLinks, LinkEvent, LinkState, pair_agent
from agentlink.gateway import LinkGateway
from agentlink.runtime import ReactorThread
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.network import SimulatedNetwork
from core.fakes import MemorySecretStore
from core.ports import ActionRequest, ActionStatus

TOKEN = "K7QPM-2HX9D-RW4TA-0JN3E"
WAIT_S = 10.0


class Desktop:
    def __init__(self, reactor_thread: ReactorThread, tmp_path: Path) -> None:
        self.reactor_thread = reactor_thread
        self.reactor = reactor_thread.reactor
        self.authority = DesktopAuthority(MemorySecretStore(), tmp_path / "desktop").load_or_create(
            datetime.now(UTC)
        )
        self.events: queue.Queue[LinkEvent] = queue.Queue()
        self.pushes: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.gateway = LinkGateway(reactor_thread.call)
        self.links = AgentLinks(
            self.reactor,
            self.authority,
            self.gateway,
            software_version="9.9",
            on_event=self.events.put,
            on_push=lambda host, body: self.pushes.put((host, body)),
            retry=lambda attempt: 0.1,
        )

    def on_reactor(self, work: Any) -> Any:
        return self.reactor_thread.call_and_wait(work, timeout_s=WAIT_S)

    def pair_and_keep(self, name: str, port: int) -> None:
        paired = self.on_reactor(
            lambda: pair_agent(
                self.reactor,
                self.authority,
                "127.0.0.1",
                port,
                TOKEN,
                agent_id=name,
                software_version="9.9",
            )
        )
        assert paired.name == name
        self.on_reactor(
            lambda: self.links.connect(AgentEndpoint(name, "127.0.0.1", port, paired.fingerprint))
        )

    def event(self, host: str) -> LinkEvent:
        while True:
            event = self.events.get(timeout=WAIT_S)
            if event.host == host:
                return event

    def push(self, host: str, kind: str) -> dict[str, Any]:
        while True:
            pushed_host, body = self.pushes.get(timeout=WAIT_S)
            if pushed_host == host and body.get("kind") == kind:
                return body


@pytest.fixture
def simulated(tmp_path: Path, reactor_thread: ReactorThread) -> Iterator[tuple[Any, Any]]:
    reactor = reactor_thread.reactor
    state = tmp_path / "sim"

    def start() -> tuple[SimulatedCluster, SimulatedNetwork]:
        cluster = SimulatedCluster.open(state, clock=reactor, server_count=2, seed=7)
        network = SimulatedNetwork(
            cluster,
            state,
            reactor=reactor,
            software_version="9.9",
            pairing_token=TOKEN,
            report_interval_s=0.2,
        )
        network.start()
        return cluster, network

    cluster, network = reactor_thread.call_and_wait(start)
    desktop = Desktop(reactor_thread, tmp_path)
    yield (cluster, network), desktop
    reactor_thread.call_and_wait(desktop.links.stop)
    reactor_thread.call_and_wait(network.stop)


def test_simulated_servers_pair_run_actions_and_report(simulated):
    (cluster, network), desktop = simulated
    for name in cluster.servers:
        desktop.pair_and_keep(name, network.ports[name])
        assert desktop.event(name).state == LinkState.CONNECTED
    devices = desktop.push("sim-mds1", "devices")["devices"]
    assert {d["serial"] for d in devices} & {
        d["serial"] for d in desktop.push("sim-mds2", "devices")["devices"]
    }, "an HA pair sees the same LUNs"

    result = desktop.gateway.run_action(
        ActionRequest(action_id="s-1", host="sim-mds1", action="load_lnet")
    ).result(timeout=WAIT_S)
    assert result.status == ActionStatus.SUCCEEDED
    while desktop.push("sim-mds1", "lustre")["state"]["lnet"] != "loaded":
        pass
    assert desktop.push("sim-mds1", "records")["records"]  # statistics and log lines flow


def test_a_crashed_server_drops_off_and_comes_back_when_restored(simulated):
    (cluster, network), desktop = simulated
    desktop.pair_and_keep("sim-mds2", network.ports["sim-mds2"])
    assert desktop.event("sim-mds2").state == LinkState.CONNECTED
    desktop.on_reactor(lambda: cluster.fault("sim-mds2", "crash"))
    assert desktop.event("sim-mds2").state == LinkState.DISCONNECTED
    result = desktop.gateway.run_action(
        ActionRequest(action_id="s-2", host="sim-mds2", action="load_lnet")
    ).result(timeout=WAIT_S)
    assert result.status == ActionStatus.FAILED and "not connected" in (result.error or "")
    desktop.on_reactor(lambda: cluster.fault("sim-mds2", "restore"))
    while (event := desktop.event("sim-mds2")).state != LinkState.CONNECTED:
        pass
    assert "sim-mds2" in event.detail


def test_the_simulator_runs_from_the_command_line(tmp_path: Path):
    state = tmp_path / "sim"
    command = [
        sys.executable,
        "-m",
        "agentlink.daemon",
        "simulate",
        "--servers",
        "4",
        "--state-dir",
        str(state),
        "--port-base",
        "0",
        "--pairing-token",
        TOKEN,
        "--no-announce",
    ]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "choose a base from 1" in refused.stderr and "Traceback" not in refused.stderr

    port_base = 20000 + os.getpid() % 20000
    command[command.index("0")] = str(port_base)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().split() for _ in range(4)]
        assert lines == [
            ["sim-mds1", "127.0.0.1", str(port_base)],
            ["sim-mds2", "127.0.0.1", str(port_base + 1)],
            ["sim-oss1", "127.0.0.1", str(port_base + 2)],
            ["sim-oss2", "127.0.0.1", str(port_base + 3)],
        ]
        control = [sys.executable, "-m", "agentlink.daemon", "simulate-control"]
        asked = subprocess.run(
            [*control, "--state-dir", str(state), "power-off", "sim-oss2"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert asked.returncode == 0 and "power-off" in asked.stdout
        unknown = subprocess.run(
            [*control, "--state-dir", str(state), "crash", "sim-oss9"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert unknown.returncode == 1 and "sim-oss1, sim-oss2" in unknown.stderr
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert (state / "cluster.json").exists()
