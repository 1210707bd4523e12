"""The agent's service: its TLS port, one link per connected desktop, pairing, actions and pushes.

Layer: agentlink.daemon (imports nothing of core, SQLAlchemy or Qt). Thread: the agent's reactor
thread, for everything here. `AgentService` serves one machine (an `AgentBackend`: the real
server, or one simulated server). What a connection may do depends on the identity at the moment
it connects:

- Unpaired, a connection may only pair. The desktop proves it holds the one-time token by
  signing both certificates of this very connection with the token's key (PAIR step "prove");
  the agent checks that against what it saw, proves the same back and sends a certificate
  request; the desktop issues the certificate and sends it with its CA (PAIR step "install").
  The agent then pins that CA, closes the link, and from the next connection on accepts only
  the desktop's client certificate. The token never crosses the link.
- Unpaired, before pairing, a desktop holding the token may ask for the facts its pre-flight
  checks judge (PAIR step "preflight": clock, Lustre tools and modules, NIDs, hostname). It
  proves the token exactly as for "prove", under another role, and the agent proves it back,
  so the facts go only to the token's holder and come, over this very TLS connection, from
  this agent; the token is not used up, so the desktop can go on to "prove" on the same
  connection when the checks pass, or walk away and leave the server unpaired.
- Paired, a connection runs actions (REQUEST, CANCEL, STATUS through the `ActionDispatcher`;
  once `teardown_server`, the desktop's removal of this server, has run, the agent unpairs),
  fetches journal records after a sequence number (FETCH, to backfill what it missed), and
  receives pushes: the device list and the Lustre state when they change (and at connect), and
  every `report_interval_s` the statistics and log records the backend collected, which are
  first appended to the on-disk journal so that nothing is lost while no desktop listens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from twisted.internet import defer, task
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IReactorTCP,
    IReactorTime,
)
from twisted.internet.protocol import Factory
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from zope.interface import implementer

from agentlink.daemon.backend import AgentBackend, ReportsPreflight, ReportsZpools
from agentlink.daemon.dispatch import ActionDispatcher
from agentlink.daemon.journal import RecordJournal
from agentlink.daemon.pki import (
    AgentIdentity,
    PairingError,
    PairingTokens,
    make_csr,
    pairing_material,
    pairing_proof,
    peer_fingerprint,
)
from agentlink.discovery import AgentAnnouncement, AgentAnnouncer
from agentlink.protocol import DEAD_AFTER_S, HEARTBEAT_S, LinkProtocol
from agentlink.wire import Message, Op

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 10.0
UNPAIR_ACTION = "teardown_server"
"""The action the desktop runs when it removes a set-up server: the agent then unpairs."""
FETCH_LIMIT = 5_000
"""Most journal records one FETCH answer carries (well under the frame limit)."""
JOURNAL_DIR = "journal"
JOURNAL_MAX_BYTES = 64 * 1024 * 1024
"""The journal's bound: at a record of ~100 bytes and 200 records per report, days of history."""
CAPABILITIES = ("actions", "journal")
UNPAIRED_CAPABILITIES = ("pairing",)


@implementer(IOpenSSLServerConnectionCreator)
class _CurrentIdentityTLS:
    """The TLS side of the port, chosen per connection from the identity as it is now, so that
    pairing takes effect for the next connection without reopening the port."""

    def __init__(self, identity: AgentIdentity, hostname: str) -> None:
        self.identity = identity
        self.hostname = hostname

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        options = self.identity.refresh(self.hostname).server_tls_options()
        return options.serverConnectionForTLS(tlsProtocol)


class AgentService:
    def __init__(
        self,
        backend: AgentBackend,
        identity: AgentIdentity,
        tokens: PairingTokens,
        journal: RecordJournal,
        *,
        clock: IReactorTime,
        software_version: str,
        wall_clock: Callable[[], float] = time.time,
        report_interval_s: float = REPORT_INTERVAL_S,
        heartbeat_s: float = HEARTBEAT_S,
        dead_after_s: float = DEAD_AFTER_S,
    ) -> None:
        self.backend = backend
        self.identity = identity
        self.tokens = tokens
        self.journal = journal
        self.clock = clock
        self.software_version = software_version
        self.wall_clock = wall_clock
        self.report_interval_s = report_interval_s
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.dispatcher = ActionDispatcher(backend)
        self.links: set[LinkProtocol] = set()
        """Open links of paired desktops (they receive pushes)."""
        self._proven: dict[LinkProtocol, bytes] = {}
        """Unpaired links whose desktop proved the token: the token's key."""
        self.on_paired: Callable[[str], None] = lambda fingerprint: None
        """Told the agent's new certificate fingerprint once it is paired (to re-announce it)."""
        self._last_devices: object = None
        self._last_lustre: object = None
        self._reporting: task.LoopingCall | None = None

    # --- the port -------------------------------------------------------------------------------

    def factory(self) -> TLSMemoryBIOFactory:
        """The factory of the agent's port: TLS for the current identity, then a link."""
        return TLSMemoryBIOFactory(
            _CurrentIdentityTLS(self.identity, self.backend.hostname),
            False,
            _LinkFactory(self.build_link),
        )

    def listen(self, reactor: IReactorTCP, port: int, interface: str = "") -> IListeningPort:
        factory: Any = self.factory()  # Twisted's hints want a ServerFactory; any factory works
        return reactor.listenTCP(port, factory, interface=interface)

    def build_link(self) -> LinkProtocol:
        paired = self.identity.refresh(self.backend.hostname).paired
        link = LinkProtocol(
            name=self.backend.hostname,
            software_version=self.software_version,
            capabilities=CAPABILITIES if paired else UNPAIRED_CAPABILITIES,
            clock=self.clock,
            heartbeat_s=self.heartbeat_s,
            dead_after_s=self.dead_after_s,
        )
        if paired:
            link.on_request = lambda message: self._handle_paired(link, message)
            link.ready.addCallback(lambda _: self._welcome(link))
        else:
            link.on_request = lambda message: self._handle_pairing(link, message)
        link.ready.addErrback(lambda failure: _log_refused(link, failure.getErrorMessage()))
        link.finished.addBoth(lambda _: self._forget(link))
        return link

    def _forget(self, link: LinkProtocol) -> None:
        self.links.discard(link)
        self._proven.pop(link, None)

    # --- paired links ---------------------------------------------------------------------------

    def _welcome(self, link: LinkProtocol) -> None:
        if link.closed_reason is not None:
            return
        self.links.add(link)
        link.push(self._devices_push())
        link.push({"kind": "lustre", "state": self.backend.lustre_state()})

    def _handle_paired(self, link: LinkProtocol, message: Message) -> Any:
        if message.op == Op.PAIR:
            raise ValueError(
                f"{self.backend.hostname} is already paired with a desktop; to pair it with "
                "another one, run `chroma-agent pair --again` on it first"
            )
        if message.op == Op.FETCH:
            return self._fetch(message.body)
        answer = self.dispatcher.handle(message)
        if message.op != Op.REQUEST or message.body.get("action") != UNPAIR_ACTION:
            return answer
        if isinstance(answer, defer.Deferred):
            return answer.addCallback(self._unpair_after)
        return self._unpair_after(answer)

    def _unpair_after(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The desktop removed this server (its `teardown_server` succeeded): once the answer
        is on its way, forget the desktop as `chroma-agent pair --again` does and close its
        links; the server can then be paired again, with a new token."""
        if answer.get("state") == "succeeded":
            self.clock.callLater(0, self._forget_desktop)
        return answer

    def _forget_desktop(self) -> None:
        self.identity.desktop_ca_path.unlink(missing_ok=True)
        self.identity.load_or_create(self.backend.hostname)
        log.info("removed from the desktop: no longer paired (pair it again with a new token)")
        self.close_links("this server was removed from the desktop; it is no longer paired")

    def _fetch(self, body: dict[str, Any]) -> dict[str, Any]:
        after = body.get("after", 0)
        limit = body.get("limit", FETCH_LIMIT)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("fetch needs `after`, a sequence number (0 or more)")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("fetch needs `limit`, a positive number of records")
        batch = self.journal.read_since(after, min(limit, FETCH_LIMIT))
        return {
            "records": [[seq, record] for seq, record in batch.records],
            "first_available": batch.first_available,
            "last": batch.last,
        }

    # --- pairing --------------------------------------------------------------------------------

    def _handle_pairing(self, link: LinkProtocol, message: Message) -> dict[str, Any]:
        if message.op != Op.PAIR:
            raise ValueError(
                f"{self.backend.hostname} is not paired yet: pair it from the desktop with the "
                "token `chroma-agent pair` prints on it"
            )
        step = message.body.get("step")
        desktop_fingerprint = peer_fingerprint(link.transport)
        if desktop_fingerprint is None:
            raise ValueError("pairing needs a TLS connection with a client certificate")
        agent_fingerprint = self.identity.fingerprint
        if step == "preflight":
            return self._preflight(link, message.body, agent_fingerprint, desktop_fingerprint)
        if step == "prove":
            proof = message.body.get("proof")
            if not isinstance(proof, str):
                raise ValueError("the pairing proof is missing")
            try:
                key = self.tokens.redeem_proof(
                    proof, pairing_material("desktop", agent_fingerprint, desktop_fingerprint)
                )
            except PairingError as error:
                log.warning("refused a pairing from %s: %s", _peer(link), error)
                raise
            self._proven[link] = key
            return {
                "proof": pairing_proof(
                    key, pairing_material("agent", agent_fingerprint, desktop_fingerprint)
                ),
                "csr": make_csr(self.identity.key_pem, self.backend.hostname[:64]).decode(),
            }
        if step == "install":
            if link not in self._proven:
                raise ValueError("prove the pairing token before installing a certificate")
            certificate, ca = message.body.get("certificate"), message.body.get("ca")
            if not isinstance(certificate, str) or not isinstance(ca, str):
                raise ValueError("pairing needs the certificate and the desktop's CA (PEM)")
            self.identity.install_certificate(certificate.encode(), ca.encode())
            log.info("paired with the desktop whose CA is pinned in %s", self.identity.state_dir)
            self.clock.callLater(0, link.close, "paired; connect again with the new certificate")
            self.on_paired(self.identity.fingerprint)
            return {"fingerprint": self.identity.fingerprint}
        raise ValueError(f"unknown pairing step {step!r}")

    def _preflight(
        self,
        link: LinkProtocol,
        body: dict[str, Any],
        agent_fingerprint: str,
        desktop_fingerprint: str,
    ) -> dict[str, Any]:
        proof = body.get("proof")
        if not isinstance(proof, str):
            raise ValueError("the pre-flight proof is missing")
        try:
            key = self.tokens.check_proof(
                proof, pairing_material("desktop-preflight", agent_fingerprint, desktop_fingerprint)
            )
        except PairingError as error:
            log.warning("refused pre-flight checks from %s: %s", _peer(link), error)
            raise
        log.info("answering pre-flight checks from %s", _peer(link))
        now = self.wall_clock()
        facts: dict[str, Any] = {"hostname": self.backend.hostname, "time": now}
        if isinstance(self.backend, ReportsPreflight):
            facts.update(self.backend.preflight_facts(now))
        return {
            "proof": pairing_proof(
                key, pairing_material("agent-preflight", agent_fingerprint, desktop_fingerprint)
            ),
            "facts": facts,
        }

    # --- reports --------------------------------------------------------------------------------

    def start_reporting(self) -> None:
        """Collect and push every `report_interval_s`, starting now."""
        if self._reporting is None:
            self._reporting = task.LoopingCall(self.report)
            self._reporting.clock = self.clock
            self._reporting.start(self.report_interval_s, now=True).addErrback(
                lambda failure: log.error("reporting stopped: %s", failure.getErrorMessage())
            )

    def stop_reporting(self) -> None:
        if self._reporting is not None and self._reporting.running:
            self._reporting.stop()
        self._reporting = None

    def report(self) -> None:
        """One round: push what changed and journal and push new records."""
        devices = self._devices_push()
        if devices != self._last_devices:
            self._last_devices = devices
            self._push(devices)
        lustre = self.backend.lustre_state()
        if lustre != self._last_lustre:
            self._last_lustre = lustre
            self._push({"kind": "lustre", "state": lustre})
        records = self.backend.collect(self.wall_clock())
        if records:
            first, last = self.journal.append(records)
            self._push(
                {
                    "kind": "records",
                    "records": [[first + i, record] for i, record in enumerate(records)],
                    "last": last,
                }
            )

    def _devices_push(self) -> dict[str, Any]:
        """The devices report; with the ZFS pools where the backend reports them."""
        if isinstance(self.backend, ReportsZpools):
            return {
                "kind": "devices",
                "devices": self.backend.devices(),
                "zpools": self.backend.zpools(),
            }
        return {"kind": "devices", "devices": self.backend.devices()}

    def _push(self, body: dict[str, Any]) -> None:
        for link in list(self.links):
            link.push(body)

    def close_links(self, reason: str) -> None:
        for link in list(self.links):
            link.close(reason)


class _LinkFactory(Factory):
    def __init__(self, build: Callable[[], LinkProtocol]) -> None:
        self._build = build

    def buildProtocol(self, addr: object) -> LinkProtocol:
        return self._build()


def _log_refused(link: LinkProtocol, why: str) -> None:
    """A connection that ended before its hello: refused by TLS (an unpaired or unknown
    desktop, or another agent) or dropped."""
    log.warning("a connection from %s ended before it was established: %s", _peer(link), why)


def _peer(link: LinkProtocol) -> str:
    transport = link.transport
    peer = transport.getPeer() if transport is not None else None
    return str(getattr(peer, "host", "an unknown address"))


@dataclass
class RunningAgent:
    """An agent serving on its port, as `start_agent` left it."""

    service: AgentService
    listening: IListeningPort
    journal: RecordJournal
    announcer: AgentAnnouncer | None = None
    announcement: AgentAnnouncement | None = None

    @property
    def port(self) -> int:
        port: int = self.listening.getHost().port  # type: ignore[attr-defined]
        return port

    def stop(self, reason: str = "the agent is stopping") -> defer.Deferred[None]:
        self.service.stop_reporting()
        self.service.close_links(reason)
        if self.announcer is not None and self.announcement is not None:
            self.announcer.withdraw(self.announcement)
        stopped = defer.maybeDeferred(self.listening.stopListening)
        return stopped.addBoth(lambda _: self.journal.close())


def start_agent(
    backend: AgentBackend,
    state_dir: Path,
    *,
    reactor: Any,
    software_version: str,
    port: int,
    interface: str = "",
    journal_max_bytes: int = JOURNAL_MAX_BYTES,
    report_interval_s: float = REPORT_INTERVAL_S,
    heartbeat_s: float = HEARTBEAT_S,
    dead_after_s: float = DEAD_AFTER_S,
    announcer: AgentAnnouncer | None = None,
    announce_addresses: Sequence[str] = (),
) -> RunningAgent:
    """Load (or make) the agent's identity in `state_dir`, open its journal, listen on `port`,
    announce it (with an announcer and addresses to announce) and start reporting. Raises
    IdentityError for a state directory it cannot trust and CannotListenError when the port is
    taken."""
    identity = AgentIdentity(state_dir).load_or_create(backend.hostname)
    journal = RecordJournal(state_dir / JOURNAL_DIR, max_bytes=journal_max_bytes)
    service = AgentService(
        backend,
        identity,
        PairingTokens(state_dir),
        journal,
        clock=reactor,
        software_version=software_version,
        report_interval_s=report_interval_s,
        heartbeat_s=heartbeat_s,
        dead_after_s=dead_after_s,
    )
    try:
        listening = service.listen(reactor, port, interface)
    except Exception:
        journal.close()
        raise
    running = RunningAgent(service, listening, journal)
    if announcer is not None and announce_addresses:
        announcement = announcer.announce(
            backend.hostname,
            backend.hostname,
            running.port,
            announce_addresses,
            identity.fingerprint,
            software_version,
        )
        running.announcer, running.announcement = announcer, announcement
        service.on_paired = lambda fingerprint: _reannounce(announcer, announcement, fingerprint)
    service.start_reporting()
    return running


def _reannounce(
    announcer: AgentAnnouncer, announcement: AgentAnnouncement, fingerprint: str
) -> None:
    announcer.update(announcement, fingerprint=fingerprint)
