"""The desktop's side of its agent links: pairing a new agent, and keeping one link per paired one.

Layer: agentlink. Thread: the reactor thread, for everything here; the callbacks (`on_event`,
`on_push`) run on it too, and the desktop hands what they receive on to its other threads.

`pair_agent` runs the pairing exchange of `agentlink.daemon.service` from the desktop's end:
the admin types the token the server printed; the token is never sent, only proofs over the
two certificates of the connection, so a man in the middle makes pairing fail instead of
being trusted. `AgentLinks` keeps a link to each paired agent: it connects (pinning the
agent's certificate), attaches the link to the gateway once the hello has been exchanged,
reconnects after a loss with exponential backoff and jitter, staggers first connects so a
thousand agents do not all handshake at once, and backfills the agent's journal from the last
record it delivered, reporting any records the agent had to drop meanwhile.
"""

from __future__ import annotations

import hmac
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet import defer, error
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Factory

from agentlink.authority import DesktopAuthority
from agentlink.daemon.pki import (
    PairingError,
    fingerprint,
    pairing_material,
    pairing_proof,
    peer_fingerprint,
    token_key,
)
from agentlink.gateway import LinkGateway
from agentlink.preflight import Preflight, ask_preflight, contact_of, forceable
from agentlink.protocol import (
    DEAD_AFTER_S,
    HEARTBEAT_S,
    LinkError,
    LinkProtocol,
    PeerHello,
    RemoteError,
)
from agentlink.wire import Op
from core.errors import ChromaError
from core.preflight import PreflightReport, incompatible, refused, unreachable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
PAIRING_TIMEOUT_S = 30.0
FETCH_PAGE = 5_000


class PairingFailedError(ChromaError):
    """Pairing did not complete; the message says why and what to do."""


class PreflightFailedError(PairingFailedError):
    """The server failed a pre-flight check, so it was not paired (its token is still good);
    `report` holds every check."""

    def __init__(self, report: PreflightReport) -> None:
        self.report = report
        failed = report.failed
        super().__init__(
            f"{report.address} was not paired: "
            + " ".join(f"{check.title}: {check.message}" for check in failed),
            hint="Fix what the checks say and try again, or pair it anyway."
            if forceable(report)
            else None,
        )


@dataclass(frozen=True)
class PairedAgent:
    name: str
    """The server's name as its agent reports it."""
    fingerprint: str
    """The certificate the desktop issued it, to pin from now on."""
    software_version: str
    preflight: PreflightReport | None = None
    """The checks run on the pairing connection just before pairing, when asked for."""


@dataclass(frozen=True)
class AgentEndpoint:
    host: str
    """The name the scheduler and the gateway know the server by."""
    address: str
    port: int
    fingerprint: str
    """The pinned certificate: a server presenting another is refused."""


class LinkState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class LinkEvent:
    host: str
    state: LinkState
    detail: str
    """Why it disconnected, or the agent's name and version when it connected."""


def backoff_with_jitter(
    initial_s: float = 1.0,
    maximum_s: float = 60.0,
    factor: float = 2.0,
    rng: random.Random | None = None,
) -> Callable[[int], float]:
    """Seconds to wait before reconnect attempt `n` (1, 2, …): doubling from `initial_s` up to
    `maximum_s`, each drawn uniformly from its upper half so that agents cut off together do not
    come back together."""
    draw = rng or random.Random()  # noqa: S311 (spreading reconnects, not a secret)

    def policy(attempt: int) -> float:
        ceiling = min(maximum_s, initial_s * factor ** min(attempt - 1, 64))
        return ceiling * (0.5 + draw.random() / 2)

    return policy


# --- pairing -------------------------------------------------------------------------------------


@defer.inlineCallbacks
def pair_agent(
    reactor: Any,
    authority: DesktopAuthority,
    address: str,
    port: int,
    token: str,
    *,
    agent_id: str,
    software_version: str,
    timeout_s: float = PAIRING_TIMEOUT_S,
    preflight: Preflight | None = None,
) -> Any:
    """Pair the agent at `address`:`port` with this desktop using the token it printed; fires
    with a `PairedAgent`, or fails with PairingFailedError saying why. With `preflight`, the
    server is checked first over the same connection, and a failing check stops pairing with
    PreflightFailedError (the token still good) unless `preflight.force`."""
    try:
        key = token_key(token)  # a mistyped token fails here, before any connection
    except PairingError as mistyped:
        raise PairingFailedError(str(mistyped)) from None
    where = f"{address}:{port}"
    try:
        link = yield _connect(reactor, authority, address, port, software_version)
    except PairingFailedError as failed:
        if preflight is not None:
            raise PreflightFailedError(unreachable(preflight.address, str(failed))) from None
        raise
    try:
        paired = yield _pair_on(link, key, authority, agent_id, where, preflight).addTimeout(
            timeout_s, reactor
        )
    except defer.TimeoutError as late:
        raise PairingFailedError(
            f"The agent at {where} did not complete pairing within {timeout_s:.0f} s."
        ) from late
    finally:
        link.close("pairing finished")
    return paired


@defer.inlineCallbacks
def check_agent(
    reactor: Any,
    authority: DesktopAuthority,
    address: str,
    port: int,
    token: str,
    preflight: Preflight,
    *,
    software_version: str,
    timeout_s: float = PAIRING_TIMEOUT_S,
) -> Any:
    """Only the pre-flight checks of the agent at `address`:`port`, pairing nothing: fires with
    a `PreflightReport` (an unreachable agent or a refused token are failed checks in it);
    PairingFailedError only for a token that is not a token at all."""
    try:
        key = token_key(token)
    except PairingError as mistyped:
        raise PairingFailedError(str(mistyped)) from None
    try:
        link = yield _connect(reactor, authority, address, port, software_version)
    except PairingFailedError as failed:
        return unreachable(preflight.address, str(failed))
    try:
        report = yield _preflight_on(
            link, key, authority, f"{address}:{port}", preflight
        ).addTimeout(timeout_s, reactor)
        return report
    except defer.TimeoutError:
        return unreachable(
            preflight.address,
            f"The agent at {address}:{port} did not answer within {timeout_s:.0f} s.",
        )
    finally:
        link.close("pre-flight checks finished")


@defer.inlineCallbacks
def _connect(
    reactor: Any, authority: DesktopAuthority, address: str, port: int, software_version: str
) -> Any:
    endpoint = wrapClientTLS(
        authority.pairing_tls_options(),
        HostnameEndpoint(reactor, address, port, timeout=CONNECT_TIMEOUT_S),
    )
    link = _desktop_link(reactor, software_version)
    try:
        yield connectProtocol(endpoint, link)  # type: ignore[no-untyped-call]
    except (error.ConnectionRefusedError, error.DNSLookupError, error.TimeoutError) as failed:
        raise PairingFailedError(
            f"Could not reach an agent at {address}:{port}: {_connect_failure(failed)}.",
            hint="Check that `chroma-agent serve` runs on the server and the port is open.",
        ) from failed
    return link


@defer.inlineCallbacks
def _hello(link: LinkProtocol) -> Any:
    """The peer's hello, however many times it is asked for (a Deferred yields its result
    once)."""
    if link.peer is not None:
        return link.peer
    yield link.ready
    if link.peer is None:  # its failure was heard already
        raise LinkError(link.closed_reason or "the link ended before the agent's hello")
    return link.peer


@defer.inlineCallbacks
def _ready_for_pairing(link: LinkProtocol, where: str) -> Any:
    try:
        peer = yield _hello(link)
    except LinkError as failed:
        raise PairingFailedError(f"The agent at {where} closed the connection: {failed}.") from None
    if "pairing" not in peer.capabilities:
        raise PairingFailedError(
            f"{peer.name} at {where} is already paired with a desktop.",
            hint="If it should be paired with this one, run `chroma-agent pair --again` on it "
            "and use the new token.",
        )
    return peer


@defer.inlineCallbacks
def _preflight_on(
    link: LinkProtocol, key: bytes, authority: DesktopAuthority, where: str, preflight: Preflight
) -> Any:
    """The checks on an open link: a report, whatever the agent answered."""
    try:
        peer = yield _hello(link)
    except LinkError as failed:
        why = str(failed)
        if "no common protocol version" in why:
            return incompatible(preflight.address, f"The agent at {where} {why}.")
        return unreachable(
            preflight.address,
            f"The agent at {where} closed the connection: {explain_link_failure(why)}",
        )
    if "pairing" not in peer.capabilities:
        contact = contact_of(link, peer, preflight, 0.0, 0.0)
        return refused(
            contact,
            peer.name,
            f"{peer.name} is already paired with a desktop. If it should be paired with this "
            "one, run `chroma-agent pair --again` on it and use the new token.",
        )
    report = yield ask_preflight(link, peer, key, authority, preflight)
    return report


@defer.inlineCallbacks
def _pair_on(
    link: LinkProtocol,
    key: bytes,
    authority: DesktopAuthority,
    agent_id: str,
    where: str,
    preflight: Preflight | None = None,
) -> Any:
    report: PreflightReport | None = None
    if preflight is not None:
        report = yield _preflight_on(link, key, authority, where, preflight)
        if report.blocks_pairing and not (preflight.force and forceable(report)):
            raise PreflightFailedError(report)
    peer = yield _ready_for_pairing(link, where)
    agent_fingerprint = peer_fingerprint(link.transport)
    desktop_fingerprint = fingerprint(authority.desktop_cert_pem)
    assert agent_fingerprint is not None  # a TLS link always has the server's certificate
    try:
        answer = yield link.request(
            Op.PAIR,
            {
                "step": "prove",
                "proof": pairing_proof(
                    key, pairing_material("desktop", agent_fingerprint, desktop_fingerprint)
                ),
            },
        )
    except RemoteError as refused_token:
        raise PairingFailedError(f"{peer.name} refused the token: {refused_token}") from None
    expected = pairing_proof(key, pairing_material("agent", agent_fingerprint, desktop_fingerprint))
    proof = answer.get("proof")
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        raise PairingFailedError(
            f"The server at {where} accepted the token but could not prove it knows it: the "
            "connection may pass through something that is not the agent.",
            hint="Nothing was paired. Check the network path to the server, then try again "
            "with a new token.",
        )
    csr = answer.get("csr")
    if not isinstance(csr, str):
        raise PairingFailedError(f"{peer.name} sent no certificate request; update its agent.")
    certificate = authority.issue_agent_certificate(csr.encode(), agent_id)
    installed = yield link.request(
        Op.PAIR,
        {
            "step": "install",
            "certificate": certificate.decode(),
            "ca": authority.ca_pem.decode(),
        },
    )
    if installed.get("fingerprint") != fingerprint(certificate):
        raise PairingFailedError(f"{peer.name} did not install the certificate it was issued.")
    return PairedAgent(peer.name, fingerprint(certificate), peer.software_version, report)


_TLS_REASONS = (
    (
        ("unknown ca", "bad certificate", "certificate required", "access denied"),
        "the agent refused this desktop's certificate: it is paired with another desktop, or "
        "was paired again. If it should belong to this desktop, run `chroma-agent pair --again` "
        "on it and pair it with the new token.",
    ),
    (
        ("wrong version number", "packet length too long", "unexpected eof", "record layer"),
        "what answers at this address and port does not speak the agent's TLS: check the port, "
        "and that it is `chroma-agent serve` that listens there.",
    ),
)


def explain_link_failure(why: str) -> str:
    """The reason a link ended, in words an admin can act on (OpenSSL's own are not)."""
    lowered = why.lower()
    for markers, meaning in _TLS_REASONS:
        if any(marker in lowered for marker in markers):
            return meaning
    return why


def _connect_failure(failed: Exception) -> str:
    if isinstance(failed, error.ConnectionRefusedError):
        return "nothing listens on that port"
    if isinstance(failed, error.DNSLookupError):
        return "the name does not resolve"
    return "no answer"


def _desktop_link(
    clock: IReactorTime,
    software_version: str,
    heartbeat_s: float = HEARTBEAT_S,
    dead_after_s: float = DEAD_AFTER_S,
) -> LinkProtocol:
    return LinkProtocol(
        name="desktop",
        software_version=software_version,
        capabilities=("desktop",),
        clock=clock,
        heartbeat_s=heartbeat_s,
        dead_after_s=dead_after_s,
    )


# --- keeping links --------------------------------------------------------------------------------


def _ignore(*_: object) -> None:
    return None


class AgentLinks:
    def __init__(
        self,
        reactor: Any,
        authority: DesktopAuthority,
        gateway: LinkGateway,
        *,
        software_version: str,
        on_event: Callable[[LinkEvent], None] = _ignore,
        on_push: Callable[[str, dict[str, Any]], None] = _ignore,
        last_record: Callable[[str], int] = lambda host: 0,
        retry: Callable[[int], float] | None = None,
        stagger_s: float = 0.0,
        rng: random.Random | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        dead_after_s: float = DEAD_AFTER_S,
    ) -> None:
        self.reactor = reactor
        self.authority = authority
        self.gateway = gateway
        self.software_version = software_version
        self.on_event = on_event
        self.on_push = on_push
        self.last_record = last_record
        """The sequence number of the last journal record of a host already stored."""
        self._rng = rng or random.Random()  # noqa: S311 (spreading connects, not a secret)
        self.retry = retry or backoff_with_jitter(rng=self._rng)
        self.stagger_s = stagger_s
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self._agents: dict[str, _Agent] = {}

    def connect(self, endpoint: AgentEndpoint) -> None:
        """Keep a link to this agent from now on (replacing any older endpoint for its host)."""
        self.disconnect(endpoint.host)
        agent = _Agent(self, endpoint)
        self._agents[endpoint.host] = agent
        delay = self._rng.uniform(0, self.stagger_s) if self.stagger_s > 0 else 0.0
        agent.start_call = self.reactor.callLater(delay, agent.start)

    def disconnect(self, host: str) -> defer.Deferred[None]:
        agent = self._agents.pop(host, None)
        return defer.succeed(None) if agent is None else agent.stop()

    def stop(self) -> defer.Deferred[None]:
        hosts = list(self._agents)
        stopping = [self.disconnect(host) for host in hosts]
        return defer.DeferredList(stopping).addCallback(lambda _: None)

    @property
    def connected(self) -> set[str]:
        return {host for host, agent in self._agents.items() if agent.link is not None}


class _Agent:
    """One paired agent: its ClientService, its current link and where its records stand."""

    def __init__(self, links: AgentLinks, endpoint: AgentEndpoint) -> None:
        self.links = links
        self.endpoint = endpoint
        self.link: LinkProtocol | None = None
        self.delivered = links.last_record(endpoint.host)
        self.fetching = False
        self.start_call: Any = None
        tls = wrapClientTLS(
            links.authority.client_tls_options(endpoint.fingerprint),
            HostnameEndpoint(
                links.reactor, endpoint.address, endpoint.port, timeout=CONNECT_TIMEOUT_S
            ),
        )
        self.service = ClientService(
            tls,
            Factory.forProtocol(self._build_link),
            retryPolicy=links.retry,
            clock=links.reactor,
            prepareConnection=self._established,
        )

    def start(self) -> None:
        self.start_call = None
        self.service.startService()

    def stop(self) -> defer.Deferred[None]:
        if self.start_call is not None and self.start_call.active():
            self.start_call.cancel()
            return defer.succeed(None)
        stopped: defer.Deferred[None] = self.service.stopService()
        return stopped

    def _build_link(self) -> LinkProtocol:
        link = _desktop_link(
            self.links.reactor,
            self.links.software_version,
            heartbeat_s=self.links.heartbeat_s,
            dead_after_s=self.links.dead_after_s,
        )
        link.on_push = lambda body: self._pushed(link, body)
        link.finished.addCallback(lambda why: self._lost(link, why))
        return link

    def _established(self, link: Any) -> defer.Deferred[Any]:
        """ClientService counts a connection as made once both hellos are exchanged, and with an
        agent that is still paired (one offering pairing was unpaired by `pair --again`)."""
        ready: defer.Deferred[Any] = link.ready
        return ready.addCallback(lambda peer: self._connected(link, peer))

    def _connected(self, link: LinkProtocol, peer: PeerHello) -> PeerHello:
        host = self.endpoint.host
        if "pairing" in peer.capabilities:
            reason = (
                f"{peer.name} is no longer paired with this desktop (`chroma-agent pair "
                "--again` ran on it); pair it again with its new token"
            )
            link.close(reason)
            raise LinkError(reason)
        self.link = link
        self.links.gateway.attach(host, link)
        self.links.on_event(
            LinkEvent(
                host,
                LinkState.CONNECTED,
                f"{peer.name}, agent {peer.software_version}",
            )
        )
        self._backfill(link)
        return peer

    def _lost(self, link: LinkProtocol, why: str) -> None:
        if self.link is link:
            self.link = None
            self.links.gateway.detach(self.endpoint.host, link)
        self.links.on_event(
            LinkEvent(self.endpoint.host, LinkState.DISCONNECTED, explain_link_failure(why))
        )

    def _pushed(self, link: LinkProtocol, body: dict[str, Any]) -> None:
        if body.get("kind") != "records":
            self.links.on_push(self.endpoint.host, body)
            return
        records = body.get("records")
        if not isinstance(records, list) or not records or self.fetching:
            return  # the running backfill reaches these records too
        first = records[0][0] if isinstance(records[0], list) and records[0] else None
        if first == self.delivered + 1:
            self._deliver(records)
        else:
            self._backfill(link)

    def _deliver(self, records: list[Any]) -> None:
        fresh = [
            record
            for record in records
            if isinstance(record, list)
            and len(record) == 2
            and isinstance(record[0], int)
            and record[0] > self.delivered
        ]
        if fresh:
            self.delivered = fresh[-1][0]
            self.links.on_push(self.endpoint.host, {"kind": "records", "records": fresh})

    @defer.inlineCallbacks
    def _backfill(self, link: LinkProtocol) -> Any:
        """Fetch every record after the last delivered one, page by page, until caught up."""
        if self.fetching:
            return
        self.fetching = True
        try:
            while link.closed_reason is None:
                after = self.delivered
                page = yield link.request(Op.FETCH, {"after": after, "limit": FETCH_PAGE})
                first_available = page.get("first_available")
                if isinstance(first_available, int) and first_available > after + 1:
                    self.links.on_push(
                        self.endpoint.host,
                        {"kind": "gap", "after": after, "missed": first_available - after - 1},
                    )
                    self.delivered = max(self.delivered, first_available - 1)
                records = page.get("records") or []
                self._deliver(records)
                last = page.get("last")
                if isinstance(last, int) and last < after:
                    # Numbers went back: the agent's journal was wiped (a reinstall). Start over.
                    log.warning("%s's record journal restarted at %d", self.endpoint.host, last)
                    self.delivered = 0
                    continue
                if not isinstance(last, int) or self.delivered >= last or not records:
                    break  # caught up (or the rest is unreadable on the agent's disk)
        except LinkError as failed:
            log.info("backfill from %s stopped: %s", self.endpoint.host, failed)
        finally:
            self.fetching = False
