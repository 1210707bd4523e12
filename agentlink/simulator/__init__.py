"""Simulated Lustre servers for `make demo` and the tests: the machines behind the real agent.

Layer: agentlink.simulator (Twisted; imports nothing of core, the database or Qt). Thread: the
reactor thread. A `SimulatedCluster` holds N `SimulatedServer`s in HA pairs over one shared,
persisted model (cluster.py, model.py, store.py); each server is an
`agentlink.daemon.backend.AgentBackend`, so the real dispatcher and link run on top of it
unchanged. Its `run` reads the argument lists `agentlink.daemon.lustre_actions` builds and
answers as mkfs.lustre, mount.lustre, lctl and friends would (server.py, commands.py);
`collect` reports statistics and syslog lines from a deterministic workload (telemetry.py).
Faults come from `SimulatedCluster.fault` or, from another process, `request_fault`
(control.py). The network layer's contract is in server.py's docstring.
"""

from agentlink.simulator.cluster import ControlOutcome, SimulatedCluster
from agentlink.simulator.control import (
    Fault,
    FaultRequest,
    UnknownFaultError,
    UnknownServerError,
    request_fault,
)
from agentlink.simulator.model import (
    ClusterModel,
    LayoutError,
    SimulatorError,
    SimulatorStateError,
    build_layout,
)
from agentlink.simulator.server import (
    ServerEvent,
    ServerOfflineError,
    SimulatedServer,
)

__all__ = [
    "ClusterModel",
    "ControlOutcome",
    "Fault",
    "FaultRequest",
    "LayoutError",
    "ServerEvent",
    "ServerOfflineError",
    "SimulatedCluster",
    "SimulatedServer",
    "SimulatorError",
    "SimulatorStateError",
    "UnknownFaultError",
    "UnknownServerError",
    "build_layout",
    "request_fault",
]
