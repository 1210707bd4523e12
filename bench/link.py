"""Benchmark of the agent link: request/response rate and latency, many agents, and a fuzz run.

Agents run in a child process (this script with `--child`), the desktop side in this one, over
mutual TLS on 127.0.0.1 only. The agents are paired beforehand by writing the certificates this
desktop issues into their state directories. Prints one JSON object per line:

  {"bench": "rpc", "pairs_per_s", "p50_ms", "p99_ms", "in_flight", "seconds"}
      pipelined REQUESTs of an action whose command the agent's runner answers at once, so the
      figure is the link's and the dispatcher's own cost. Target: >= 20,000 pairs/s.
  {"bench": "agents", "agents", "rss_mb", "kb_per_link", "connect_s", "idle_cpu_pct",
   "heartbeats_missed", "disconnects"}
      one desktop process holding a link to each of N agents (connects staggered), then idle
      for `--idle-s` seconds with a short heartbeat: a heartbeat is missed when a link was silent
      longer than 1.5 heartbeat intervals. Target: 0 missed.
  {"bench": "fuzz", "frames", "cases", "crashes", "closed_with_reason", "seconds"}
      random and mutated frames at the agent's service and at the desktop's link
      (tests/agentlink/fuzz.py). Target: >= 1,000,000 frames, 0 crashes.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twisted.internet import defer  # noqa: E402  (after the path is set)

from agentlink.daemon.dispatch import CommandResult  # noqa: E402

HEARTBEAT_S = 10.0
"""The links' heartbeat in the agents benchmark: the production value unless --heartbeat-s."""


# --- the agents' process -------------------------------------------------------------------------


class InstantHost:
    """A machine whose every command succeeds at once and which has nothing to report."""

    def __init__(self, name: str) -> None:
        self.hostname = name

    def run(self, argv: Any) -> Any:
        return defer.succeed(CommandResult(tuple(argv), 0))

    def devices(self) -> list[Any]:
        return []

    def lustre_state(self) -> Any:
        return {"lnet": "up", "nids": [], "mounts": [], "boot_time": 0.0}

    def collect(self, now: float) -> list[Any]:
        return []


def child(state_root: Path, count: int, ports_file: Path, heartbeat_s: float) -> None:
    from twisted.internet import reactor

    from agentlink.daemon.service import start_agent

    ports = []
    for index in range(count):
        running = start_agent(
            InstantHost(f"bench{index:04d}"),
            state_root / f"agent{index:04d}",
            reactor=reactor,
            software_version="bench",
            port=0,
            interface="127.0.0.1",
            journal_max_bytes=64 * 1024,
            heartbeat_s=heartbeat_s,
            dead_after_s=heartbeat_s * 3,
        )
        ports.append(running.port)
    ports_file.write_text(json.dumps(ports))
    reactor.run()  # type: ignore[attr-defined]


# --- the desktop's process -----------------------------------------------------------------------


def prepare(state_root: Path, count: int) -> tuple[Any, list[str]]:
    from agentlink.authority import DesktopAuthority
    from agentlink.daemon.pki import AgentIdentity, make_csr
    from core.fakes import MemorySecretStore

    authority = DesktopAuthority(MemorySecretStore(), state_root / "desktop").load_or_create(
        datetime.now(UTC)
    )
    fingerprints = []
    for index in range(count):
        name = f"bench{index:04d}"
        identity = AgentIdentity(state_root / f"agent{index:04d}").load_or_create(name)
        certificate = authority.issue_agent_certificate(make_csr(identity.key_pem, name), name)
        identity.install_certificate(certificate, authority.ca_pem)
        fingerprints.append(identity.fingerprint)
    return authority, fingerprints


def start_child(
    state_root: Path, count: int, heartbeat_s: float = HEARTBEAT_S
) -> tuple[subprocess.Popen[bytes], list[int]]:
    ports_file = state_root / "ports.json"
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--heartbeat-s",
            str(heartbeat_s),
            "--child",
            str(state_root),
            str(count),
            str(ports_file),
        ]
    )
    deadline = time.monotonic() + 120
    while not ports_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the agents' process did not start")
        time.sleep(0.05)
    return process, json.loads(ports_file.read_text())


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_rpc(seconds: float, in_flight: int) -> dict[str, Any]:
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS

    from agentlink.protocol import LinkProtocol
    from agentlink.wire import Op

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        authority, fingerprints = prepare(root, 1)
        process, ports = start_child(root, 1)
        result: dict[str, Any] = {}

        @defer.inlineCallbacks
        def run(reactor: Any) -> Any:
            link = LinkProtocol(
                name="desktop", software_version="bench", capabilities=(), clock=reactor
            )
            endpoint = wrapClientTLS(
                authority.client_tls_options(fingerprints[0]),
                TCP4ClientEndpoint(reactor, "127.0.0.1", ports[0]),
            )
            yield connectProtocol(endpoint, link)
            yield link.ready
            latencies: list[float] = []
            counter = iter(range(10**9))
            done = defer.Deferred()
            end = time.perf_counter() + seconds
            outstanding = 0

            def send() -> None:
                nonlocal outstanding
                started = time.perf_counter()
                outstanding += 1
                sent = link.request(
                    Op.REQUEST,
                    {"action_id": f"b{next(counter)}", "action": "setup_server", "args": {}},
                )

                def answered(_: object) -> None:
                    nonlocal outstanding
                    outstanding -= 1
                    now = time.perf_counter()
                    latencies.append(now - started)
                    if now < end:
                        send()
                    elif outstanding == 0 and not done.called:
                        done.callback(None)

                sent.addCallback(answered)

            began = time.perf_counter()
            for _ in range(in_flight):
                send()
            yield done
            elapsed = time.perf_counter() - began
            latencies.sort()
            result.update(
                bench="rpc",
                pairs_per_s=round(len(latencies) / elapsed),
                p50_ms=round(statistics.median(latencies) * 1000, 3),
                p99_ms=round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
                in_flight=in_flight,
                seconds=round(elapsed, 2),
            )
            link.close("bench over")

        try:
            _react(run)
        finally:
            process.terminate()
            process.wait()
        return result


def _react(main: Any) -> None:
    """Run `main(reactor)` to completion on this process's reactor, which may run only once:
    each benchmark that needs it runs in a process of its own (see `--only`)."""
    from twisted.internet import reactor

    failure: list[Any] = []

    def start() -> None:
        outcome = main(reactor)
        outcome.addErrback(failure.append)
        outcome.addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]

    reactor.callWhenRunning(start)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    if failure:
        failure[0].raiseException()


def bench_agents(count: int, idle_s: float, stagger_s: float, heartbeat_s: float) -> dict[str, Any]:
    from twisted.internet import task

    from agentlink.connector import AgentEndpoint, AgentLinks, LinkEvent, LinkState
    from agentlink.gateway import LinkGateway

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        authority, fingerprints = prepare(root, count)
        process, ports = start_child(root, count, heartbeat_s)
        result: dict[str, Any] = {}

        @defer.inlineCallbacks
        def run(reactor: Any) -> Any:
            connected: set[str] = set()
            disconnects = 0
            all_up = defer.Deferred()

            def on_event(event: LinkEvent) -> None:
                nonlocal disconnects
                if event.state == LinkState.CONNECTED:
                    connected.add(event.host)
                    if len(connected) == count and not all_up.called:
                        all_up.callback(None)
                else:
                    disconnects += 1

            gateway = LinkGateway(lambda work: work())
            links = AgentLinks(
                reactor,
                authority,
                gateway,
                software_version="bench",
                on_event=on_event,
                stagger_s=stagger_s,
                heartbeat_s=heartbeat_s,
                dead_after_s=heartbeat_s * 3,
            )
            before = rss_mb()
            began = time.perf_counter()
            for index, port in enumerate(ports):
                links.connect(
                    AgentEndpoint(f"bench{index:04d}", "127.0.0.1", port, fingerprints[index])
                )
            yield all_up.addTimeout(stagger_s + 120, reactor)
            connect_s = time.perf_counter() - began
            disconnects_before_idle = disconnects
            missed = 0
            silent_since: dict[str, bool] = {}

            def check() -> None:
                nonlocal missed
                now = reactor.seconds()
                for host, agent in links._agents.items():
                    link = agent.link
                    late = link is not None and now - link._last_heard > heartbeat_s * 1.5
                    if late and not silent_since.get(host):
                        missed += 1
                    silent_since[host] = late

            checker = task.LoopingCall(check)
            checker.clock = reactor
            checker.start(0.25)
            cpu_before = _cpu_s()
            wall_before = time.perf_counter()
            yield task.deferLater(reactor, idle_s, lambda: None)
            idle_cpu = (_cpu_s() - cpu_before) / (time.perf_counter() - wall_before) * 100
            checker.stop()
            after = rss_mb()
            result.update(
                bench="agents",
                agents=count,
                heartbeat_s=heartbeat_s,
                rss_mb=round(after, 1),
                kb_per_link=round((after - before) * 1024 / count, 1),
                connect_s=round(connect_s, 2),
                idle_cpu_pct=round(idle_cpu, 2),
                heartbeats_missed=missed,
                disconnects=disconnects - disconnects_before_idle,
            )
            yield links.stop()

        try:
            _react(run)
        finally:
            process.terminate()
            process.wait()
        return result


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_fuzz(frames: int) -> dict[str, Any]:
    from twisted.internet.task import Clock
    from twisted.internet.testing import MemoryReactorClock

    from agentlink.connector import AgentEndpoint, AgentLinks, _Agent
    from agentlink.daemon.journal import RecordJournal
    from agentlink.daemon.pki import AgentIdentity, PairingTokens
    from agentlink.daemon.service import AgentService
    from agentlink.gateway import LinkGateway
    from tests.agentlink.fuzz import fuzz

    logging.getLogger("agentlink").setLevel(logging.ERROR)  # a million refusals need no lines
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        authority, _ = prepare(root, 1)
        identity = AgentIdentity(root / "agent0000").load_or_create("bench0000")
        with RecordJournal(root / "agent0000" / "journal") as journal:
            journal.append(
                [{"kind": "stat", "t": 0.0, "subject": "node", "metric": "x", "value": 1.0}] * 50
            )
            service = AgentService(
                InstantHost("bench0000"),
                identity,
                PairingTokens(root / "agent0000"),
                journal,
                clock=Clock(),
                software_version="bench",
            )
            at_agent = fuzz(lambda _clock: service.build_link(), frames // 2, seed=11)
        links = AgentLinks(
            MemoryReactorClock(), authority, LinkGateway(lambda work: work()), software_version="b"
        )
        agent = _Agent(links, AgentEndpoint("bench0000", "127.0.0.1", 1, identity.fingerprint))

        def desktop_link(_clock: Any) -> Any:
            link = agent._build_link()
            agent._established(link).addErrback(lambda _: None)
            return link

        at_desktop = fuzz(desktop_link, frames - frames // 2, seed=12)
    reports = (at_agent, at_desktop)
    return {
        "bench": "fuzz",
        "frames": sum(r.frames for r in reports),
        "cases": sum(r.cases for r in reports),
        "crashes": sum(r.outcomes["crash"] for r in reports),
        "closed_with_reason": sum(r.outcomes["closed with a reason"] for r in reports),
        "seconds": round(time.perf_counter() - began, 1),
        "first_crashes": at_agent.crashes[:3] + at_desktop.crashes[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="JSON lines only")
    parser.add_argument("--only", choices=["rpc", "agents", "fuzz"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--idle-s", type=float, default=40.0)
    parser.add_argument("--stagger-s", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--heartbeat-s", type=float, default=HEARTBEAT_S)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        state_root, count, ports_file = arguments.child
        child(Path(state_root), int(count), Path(ports_file), arguments.heartbeat_s)
        return
    if arguments.only is None:
        # One reactor per process: each benchmark runs in a process of its own.
        for name in ("rpc", "agents", "fuzz"):
            command = [sys.executable, __file__, "--only", name, *sys.argv[1:]]
            subprocess.run(command, check=True)
        return
    if arguments.only == "rpc":
        figures = bench_rpc(arguments.seconds, arguments.in_flight)
    elif arguments.only == "agents":
        figures = bench_agents(
            arguments.agents, arguments.idle_s, arguments.stagger_s, arguments.heartbeat_s
        )
    else:
        figures = bench_fuzz(arguments.frames)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
