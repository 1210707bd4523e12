"""`chroma-agent simulate` and `chroma-agent simulate-control`: the cluster simulator's commands.

Layer: agentlink.simulator. Thread: the main thread, which runs the reactor for `simulate`.

    chroma-agent simulate --servers N --state-dir DIR --port-base P --pairing-token T [--seed S]

runs N simulated servers (8 by default: sim-mds1 and sim-mds2 as an HA pair, sim-oss1 … sim-oss6
in three HA pairs) on ports P … P+N-1 of 127.0.0.1, prints one line per server (name, address,
port), and runs until interrupted, keeping everything in DIR so that the cluster survives a
restart. Each server pairs once with the token T.

    chroma-agent simulate-control --state-dir DIR ACTION SERVER

asks the simulator running on DIR to crash, restore, power off or on, drop the link of, slow
down, fail the next action of, or fill the disks of one server.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from agentlink.daemon.cli import UsageError
from agentlink.simulator.control import Fault

MAX_PORT = 65535


def add_simulator_commands(commands: Any) -> None:
    simulate = commands.add_parser(
        "simulate", help="run simulated Lustre servers, each with a real agent, on this machine"
    )
    simulate.add_argument("--servers", type=int, default=8, help="how many (default %(default)s)")
    simulate.add_argument("--state-dir", type=Path, required=True, help="the cluster's directory")
    simulate.add_argument(
        "--port-base", type=int, required=True, help="the first server's port; the others follow"
    )
    simulate.add_argument(
        "--pairing-token",
        required=True,
        help="the token every server accepts once, like K7QPM-2HX9D-RW4TA-0JN3E",
    )
    simulate.add_argument("--seed", type=int, default=None, help="makes the cluster (default 0)")
    simulate.add_argument("--listen", default="127.0.0.1", help="address (default %(default)s)")
    simulate.add_argument("--no-announce", action="store_true", help="no zeroconf entries")
    simulate.add_argument("-v", "--verbose", action="store_true", help="log connections")
    simulate.set_defaults(run=run_simulate)

    control = commands.add_parser(
        "simulate-control", help="crash, power off or otherwise upset one simulated server"
    )
    control.add_argument("--state-dir", type=Path, required=True, help="the cluster's directory")
    control.add_argument("action", choices=[fault.value for fault in Fault], metavar="ACTION")
    control.add_argument("server", metavar="SERVER")
    control.set_defaults(run=run_control)


def run_control(arguments: argparse.Namespace) -> int:
    from agentlink.simulator.control import request_fault
    from agentlink.simulator.model import SimulatorError

    try:
        request = request_fault(arguments.state_dir, arguments.server, arguments.action)
    except SimulatorError as problem:
        raise UsageError(str(problem)) from problem
    print(f"asked the simulator to apply {request.fault.value} to {request.server}")
    return 0


def run_simulate(arguments: argparse.Namespace) -> int:
    from twisted.internet import error, reactor

    from agentlink.daemon.cli import agent_version
    from agentlink.daemon.pki import IdentityError, PairingError, token_key
    from agentlink.discovery import AgentAnnouncer, DiscoveryError
    from agentlink.simulator.cluster import SimulatedCluster
    from agentlink.simulator.model import SimulatorError
    from agentlink.simulator.network import SimulatedNetwork

    if arguments.verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        token_key(arguments.pairing_token)
    except PairingError as problem:
        raise UsageError(f"--pairing-token: {problem}") from problem
    last_port = arguments.port_base + arguments.servers - 1
    if arguments.port_base < 1 or last_port > MAX_PORT:
        raise UsageError(
            f"--port-base {arguments.port_base} with {arguments.servers} servers needs ports "
            f"{arguments.port_base}-{last_port}; choose a base from 1 to "
            f"{MAX_PORT - arguments.servers + 1}"
        )
    state_dir: Path = arguments.state_dir
    try:
        cluster = SimulatedCluster.open(
            state_dir, clock=reactor, seed=arguments.seed, server_count=arguments.servers
        )
    except (SimulatorError, OSError) as problem:
        raise UsageError(str(problem)) from problem
    announcer = None
    if not arguments.no_announce:
        try:
            announcer = AgentAnnouncer([arguments.listen])
        except DiscoveryError as problem:
            print(f"chroma-agent: not announcing over zeroconf: {problem}", file=sys.stderr)
    network = SimulatedNetwork(
        cluster,
        state_dir,
        reactor=reactor,
        software_version=agent_version(),
        address=arguments.listen,
        port_base=arguments.port_base,
        pairing_token=arguments.pairing_token,
        announcer=announcer,
    )
    try:
        served = network.start()
    except (error.CannotListenError, IdentityError) as problem:
        network.stop()
        if announcer is not None:
            announcer.close()
        raise UsageError(str(problem)) from problem
    cluster.start()
    for server in served:
        print(f"{server.name} {server.address} {server.port}", flush=True)

    def shut_down() -> Any:
        cluster.stop()
        stopped = network.stop()
        if announcer is not None:
            stopped.addBoth(lambda _: announcer.close())
        return stopped

    reactor.addSystemEventTrigger("before", "shutdown", shut_down)
    reactor.run()
    return 0
