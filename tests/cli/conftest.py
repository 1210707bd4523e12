"""Fixtures of the CLI tests: `chroma` run in this process against a headless manager (the same
`LocalManager` that `chroma-desktop --headless` runs) serving its API on loopback, linked to the
eight-server simulator, whose commands run HURRY times faster than the real tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentlink.runtime import ReactorThread
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.network import SimulatedNetwork
from chroma_desktop.api.service import LocalManager
from chroma_desktop.cli.main import main

TOKEN = "K7QPM-2HX9D-RW4TA-0JN3E"
HURRY = 20.0
"""The simulated tools run this much faster than the real ones (an OST format takes 40 s)."""


@dataclass(frozen=True)
class Ran:
    """What one `chroma` run did: its exit status and what it printed."""

    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cluster:
    local: LocalManager
    simulator: SimulatedCluster
    network: SimulatedNetwork
    reactor_thread: ReactorThread

    def address(self, server: str) -> str:
        return f"127.0.0.1:{self.network.ports[server]}"


@pytest.fixture
def chroma(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `chroma ARGS…` as an admin would; returns a `Ran`."""

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return Ran(status, captured.out, captured.err)

    return run


@pytest.fixture
def cluster(tmp_path: Path, reactor_thread: ReactorThread) -> Iterator[Cluster]:
    """Eight simulated servers (nothing paired) and a headless manager serving the API."""

    def start() -> tuple[SimulatedCluster, SimulatedNetwork]:
        simulator = SimulatedCluster.open(
            tmp_path / "sim", clock=reactor_thread.reactor, seed=3, speed=HURRY
        )
        network = SimulatedNetwork(
            simulator,
            tmp_path / "sim",
            reactor=reactor_thread.reactor,
            software_version="9.9",
            pairing_token=TOKEN,
            report_interval_s=0.2,
        )
        network.start()
        return simulator, network

    simulator, network = reactor_thread.call_and_wait(start)
    local = LocalManager.open(headless=True, reactor_thread=reactor_thread)
    yield Cluster(local, simulator, network, reactor_thread)
    local.close()
    reactor_thread.call_and_wait(network.stop)


from tests.api.conftest import served  # noqa: E402, F401  (a manager on the small test cluster)
