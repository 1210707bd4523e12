"""The agent's port and the desktop's links, for real: mutual TLS on 127.0.0.1, pairing with a
token, pinned reconnects, actions, pushes, backfill of the journal, and a man in the middle who
does not know the token."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory

from agentlink.authority import DesktopAuthority
from agentlink.connector import (
    AgentEndpoint,
    AgentLinks,
    LinkEvent,
    LinkState,
    PairedAgent,
    PairingFailedError,
    pair_agent,
)
from agentlink.daemon.backend import DeviceRecord, LustreState, Record
from agentlink.daemon.dispatch import RecordingRunner
from agentlink.daemon.pki import AgentIdentity, PairingTokens
from agentlink.daemon.service import RunningAgent, start_agent
from agentlink.gateway import LinkGateway
from agentlink.preflight import Preflight
from agentlink.protocol import LinkProtocol
from agentlink.runtime import ReactorThread
from agentlink.wire import Op
from core.fakes import MemorySecretStore
from core.ports import ActionRequest, ActionResult, ActionStatus

T = TypeVar("T")
WAIT_S = 10.0


@dataclass
class ScriptedHost:
    """A machine for the agent: commands go to a recording runner, reports are set by the test."""

    name: str
    runner: RecordingRunner = field(default_factory=RecordingRunner)
    device_list: list[DeviceRecord] = field(default_factory=list)
    pending: list[Record] = field(default_factory=list)

    @property
    def hostname(self) -> str:
        return self.name

    def run(self, argv: Any) -> defer.Deferred[Any]:
        return self.runner.run(argv)

    def devices(self) -> list[DeviceRecord]:
        return list(self.device_list)

    def lustre_state(self) -> LustreState:
        return LustreState(lnet="up", nids=["10.0.0.1@tcp"], mounts=[], boot_time=1.0)

    def collect(self, now: float) -> list[Record]:
        taken, self.pending = self.pending, []
        return taken


def stat(n: int) -> Record:
    return {"kind": "stat", "t": float(n), "subject": "node", "metric": "cpu_user", "value": n}


class Site:
    """One agent on loopback and one desktop, driven from the test thread."""

    def __init__(self, tmp_path: Path, reactor_thread: ReactorThread) -> None:
        self.reactor_thread = reactor_thread
        self.reactor = reactor_thread.reactor
        self.authority = DesktopAuthority(MemorySecretStore(), tmp_path / "desktop").load_or_create(
            datetime.now(UTC)
        )
        self.state_dir = tmp_path / "agent"
        self.host = ScriptedHost("oss1.lab")
        self.agent: RunningAgent | None = None
        self.events: queue.Queue[LinkEvent] = queue.Queue()
        self.pushes: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.late: queue.Queue[tuple[str, ActionResult]] = queue.Queue()
        self.gateway = LinkGateway(
            reactor_thread.call, on_late_outcome=lambda host, r: self.late.put((host, r))
        )
        self.links: AgentLinks | None = None

    def on_reactor(self, work: Callable[[], T]) -> T:
        return self.reactor_thread.call_and_wait(work, timeout_s=WAIT_S)

    def start_agent(self, port: int = 0, report_interval_s: float = 3600.0) -> RunningAgent:
        self.agent = self.on_reactor(
            lambda: start_agent(
                self.host,
                self.state_dir,
                reactor=self.reactor,
                software_version="9.9",
                port=port,
                interface="127.0.0.1",
                report_interval_s=report_interval_s,
                heartbeat_s=1.0,
                dead_after_s=3.0,
            )
        )
        return self.agent

    def stop_agent(self) -> None:
        if self.agent is not None:
            agent, self.agent = self.agent, None
            self.on_reactor(agent.stop)

    def token(self) -> str:
        return PairingTokens(self.state_dir).issue()

    def pair(self, token: str, preflight: Preflight | None = None) -> PairedAgent:
        """Pair with the agent, after its pre-flight checks when `preflight` is given."""
        assert self.agent is not None
        port = self.agent.port
        return self.on_reactor(
            lambda: pair_agent(
                self.reactor,
                self.authority,
                "127.0.0.1",
                port,
                token,
                agent_id="oss1.lab",
                software_version="9.9",
                preflight=preflight,
            )
        )

    def keep_link(self, fingerprint: str) -> None:
        assert self.agent is not None
        port = self.agent.port

        def connect() -> None:
            self.links = AgentLinks(
                self.reactor,
                self.authority,
                self.gateway,
                software_version="9.9",
                on_event=self.events.put,
                on_push=lambda host, body: self.pushes.put((host, body)),
                retry=lambda attempt: 0.1,
                heartbeat_s=1.0,
                dead_after_s=3.0,
            )
            self.links.connect(AgentEndpoint("oss1.lab", "127.0.0.1", port, fingerprint))

        self.on_reactor(connect)

    def next_event(self) -> LinkEvent:
        return self.events.get(timeout=WAIT_S)

    def next_push(self, kind: str) -> dict[str, Any]:
        while True:
            _host, body = self.pushes.get(timeout=WAIT_S)
            if body.get("kind") == kind:
                return body

    def close(self) -> None:
        if self.links is not None:
            links = self.links
            self.on_reactor(links.stop)
        self.stop_agent()


@pytest.fixture
def site(tmp_path: Path, reactor_thread: ReactorThread) -> Iterator[Site]:
    made = Site(tmp_path, reactor_thread)
    yield made
    made.close()


def paired(site: Site) -> PairedAgent:
    site.start_agent()
    return site.pair(site.token())


def test_pairing_pins_a_certificate_and_the_agent_then_takes_only_this_desktop(site: Site):
    agent = paired(site)
    identity = AgentIdentity(site.state_dir).load_or_create("oss1.lab")
    assert identity.paired
    assert agent.name == "oss1.lab" and agent.software_version == "9.9"
    assert agent.fingerprint == identity.fingerprint

    site.keep_link(agent.fingerprint)
    event = site.next_event()
    assert event.state == LinkState.CONNECTED and "oss1.lab" in event.detail
    assert site.next_push("devices")["devices"] == []
    assert site.next_push("lustre")["state"]["lnet"] == "up"

    result = site.gateway.run_action(
        ActionRequest(action_id="a-1", host="oss1.lab", action="load_lnet")
    ).result(timeout=WAIT_S)
    assert result.status == ActionStatus.SUCCEEDED
    assert site.host.runner.ran == [("modprobe", "lnet")]


def test_a_wrong_token_pairs_nothing_and_says_why(site: Site):
    site.start_agent()
    site.token()
    with pytest.raises(PairingFailedError, match="unknown to this server"):
        site.pair("K7QPM-2HX9D-RW4TA-0JN3E")
    assert not AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired


def test_a_token_pairs_once(site: Site):
    site.start_agent()
    token = site.token()
    site.pair(token)
    with pytest.raises(PairingFailedError, match="already paired"):
        site.pair(token)


def test_an_unpaired_agent_runs_nothing(site: Site):
    site.start_agent()
    port = site.agent.port if site.agent else 0

    @defer.inlineCallbacks
    def try_an_action() -> Any:
        link = LinkProtocol(
            name="desktop", software_version="9.9", capabilities=(), clock=site.reactor
        )
        endpoint = wrapClientTLS(
            site.authority.pairing_tls_options(),
            TCP4ClientEndpoint(site.reactor, "127.0.0.1", port),
        )
        yield connectProtocol(endpoint, link)
        yield link.ready
        try:
            yield link.request(Op.REQUEST, {"action_id": "x", "action": "load_lnet", "args": {}})
        except Exception as refused:
            return str(refused)
        finally:
            link.close("done")
        return "ran"

    answer = site.on_reactor(try_an_action)
    assert "not paired yet" in answer
    assert site.host.runner.ran == []


def test_a_desktop_pinning_another_certificate_is_refused(site: Site):
    paired(site)
    site.keep_link("sha256:" + "ab" * 32)
    event = site.next_event()
    assert event.state == LinkState.DISCONNECTED
    assert "was expected" in event.detail
    assert site.host.runner.ran == []


def test_another_desktop_cannot_connect_to_a_paired_agent(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    agent = paired(site)
    site.authority = DesktopAuthority(MemorySecretStore(), tmp_path / "other").load_or_create(
        datetime.now(UTC)
    )
    site.keep_link(agent.fingerprint)
    event = site.next_event()
    assert event.state == LinkState.DISCONNECTED
    assert "refused this desktop's certificate" in event.detail
    assert site.host.runner.ran == []
    site.on_reactor(lambda: None)
    assert "ended before it was established" in caplog.text


def test_a_link_lost_mid_action_ends_it_lost_and_the_real_outcome_arrives_after_reconnect(
    site: Site,
):
    agent = paired(site)
    site.host.runner.hold_commands.add("modprobe")
    site.keep_link(agent.fingerprint)
    assert site.next_event().state == LinkState.CONNECTED
    running = site.gateway.run_action(
        ActionRequest(action_id="a-7", host="oss1.lab", action="load_lnet")
    )

    def cut() -> None:
        assert site.agent is not None
        for link in list(site.agent.service.links):
            link.abort("test: cable pulled")

    while not site.host.runner.held:  # the agent has started the command
        site.on_reactor(lambda: None)
    site.on_reactor(cut)
    result = running.result(timeout=WAIT_S)
    assert result.status == ActionStatus.LOST
    assert site.next_event().state == LinkState.DISCONNECTED

    def finish() -> None:
        from agentlink.daemon.dispatch import CommandResult

        for argv, held in site.host.runner.held.items():
            held.callback(CommandResult(argv, 0))

    site.on_reactor(finish)
    assert site.next_event().state == LinkState.CONNECTED
    host, late = site.late.get(timeout=WAIT_S)
    assert host == "oss1.lab" and late.action_id == "a-7"
    assert late.status == ActionStatus.SUCCEEDED
    assert site.host.runner.ran == [("modprobe", "lnet")]  # never sent again


def test_records_made_while_no_desktop_listens_are_backfilled_in_order(site: Site):
    agent = paired(site)
    assert site.agent is not None
    service = site.agent.service
    site.host.pending = [stat(n) for n in range(1, 101)]
    site.on_reactor(service.report)  # journalled; nobody is connected
    site.keep_link(agent.fingerprint)
    assert site.next_event().state == LinkState.CONNECTED
    received: list[int] = []
    while len(received) < 100:
        received += [seq for seq, _ in site.next_push("records")["records"]]
    site.host.pending = [stat(n) for n in range(101, 111)]
    site.on_reactor(service.report)  # pushed live
    while len(received) < 110:
        received += [seq for seq, _ in site.next_push("records")["records"]]
    assert received == list(range(1, 111))


class _Relay(Protocol):
    """One side of a man in the middle: bytes in here go out of `other`."""

    other: _Relay | None = None
    backlog: bytes = b""

    def dataReceived(self, data: bytes) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.write(data)
        else:
            self.backlog += data

    def connectionLost(self, reason: object = None) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.loseConnection()


def test_a_man_in_the_middle_who_relays_the_pairing_cannot_pair(site: Site, tmp_path: Path):
    """The intruder ends TLS on both sides with his own certificates and relays the messages;
    he has the token's proof but cannot re-sign it for the certificates the agent sees."""
    site.start_agent()
    assert site.agent is not None
    agent_port = site.agent.port
    intruder = AgentIdentity(tmp_path / "intruder").load_or_create("oss1.lab")
    intruder_desktop = DesktopAuthority(MemorySecretStore(), tmp_path / "mitm").load_or_create(
        datetime.now(UTC)
    )

    def relay() -> Any:
        def accepted() -> _Relay:
            near = _Relay()
            far = _Relay()
            near.other, far.other = far, near
            endpoint = wrapClientTLS(
                intruder_desktop.pairing_tls_options(),
                TCP4ClientEndpoint(site.reactor, "127.0.0.1", agent_port),
            )

            def connected(_: object) -> None:
                if near.backlog and far.transport is not None:
                    far.transport.write(near.backlog)
                    near.backlog = b""

            connectProtocol(endpoint, far).addCallback(connected)
            return near

        factory = TLSMemoryBIOFactory(
            intruder.server_tls_options(), False, Factory.forProtocol(accepted)
        )
        return site.reactor.listenTCP(0, factory, interface="127.0.0.1")

    listening = site.on_reactor(relay)
    try:
        with pytest.raises(
            PairingFailedError, match="refused the token: This pairing token is unknown"
        ):
            site.on_reactor(
                lambda: pair_agent(
                    site.reactor,
                    site.authority,
                    "127.0.0.1",
                    listening.getHost().port,
                    PairingTokens(site.state_dir).issue(),
                    agent_id="oss1.lab",
                    software_version="9.9",
                )
            )
    finally:
        site.on_reactor(listening.stopListening)
    assert not AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired


def test_pairing_an_address_where_nothing_listens_says_so(site: Site):
    site.start_agent()
    assert site.agent is not None
    port = site.agent.port
    site.stop_agent()
    with pytest.raises(PairingFailedError, match="nothing listens"):
        site.on_reactor(
            lambda: pair_agent(
                site.reactor,
                site.authority,
                "127.0.0.1",
                port,
                "K7QPM-2HX9D-RW4TA-0JN3E",
                agent_id="oss1.lab",
                software_version="9.9",
            )
        )


def test_a_server_unpaired_on_the_spot_is_reported_as_such(site: Site):
    agent = paired(site)
    site.keep_link(agent.fingerprint)
    assert site.next_event().state == LinkState.CONNECTED
    AgentIdentity(site.state_dir).load_or_create("oss1.lab").desktop_ca_path.unlink()

    def cut() -> None:
        assert site.agent is not None
        for link in list(site.agent.service.links):
            link.abort("test: reconnect")

    site.on_reactor(cut)
    assert site.next_event().state == LinkState.DISCONNECTED
    event = site.next_event()
    assert event.state == LinkState.DISCONNECTED
    assert "no longer paired" in event.detail


def test_a_server_removed_by_the_desktop_unpairs_and_can_be_paired_again(site: Site):
    agent = paired(site)
    site.keep_link(agent.fingerprint)
    assert site.next_event().state == LinkState.CONNECTED
    result = site.gateway.run_action(
        ActionRequest(action_id="bye", host="oss1.lab", action="teardown_server")
    ).result(timeout=WAIT_S)
    assert result.status == ActionStatus.SUCCEEDED, "the answer arrives before the link closes"
    event = site.next_event()
    assert event.state == LinkState.DISCONNECTED
    assert "removed from the desktop" in event.detail
    assert not AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired
    assert site.host.runner.ran == []
    again = site.pair(site.token())
    assert again.name == "oss1.lab"
