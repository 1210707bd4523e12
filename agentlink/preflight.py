"""The desktop's side of the pre-flight checks: ask an unpaired agent, over the connection pairing
uses, for the facts of its server, and have `core.preflight` judge them.

Layer: agentlink (over core). Thread: the reactor thread. The question is the PAIR step
"preflight" (see `agentlink.daemon.service`): the desktop proves it holds the pairing token by
signing both certificates of this TLS connection under the role "desktop-preflight", and the
agent answers with the facts and its own proof under "agent-preflight". So only the holder of
the token learns anything of the server (its NIDs, addresses, installed software), a man in the
middle can neither read nor forge the answer, the proofs cannot be replayed as pairing proofs
(another role), and the token is not used up: pairing goes on over the same connection once
the checks pass (or the admin pairs anyway). Garbled facts are a failed check, never a crash.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer

from agentlink.authority import DesktopAuthority
from agentlink.daemon.pki import fingerprint, pairing_material, pairing_proof, peer_fingerprint
from agentlink.protocol import LinkProtocol, PeerHello, RemoteError
from agentlink.wire import Op
from core.preflight import (
    AgentFacts,
    CheckKind,
    CheckResult,
    CheckStatus,
    Contact,
    PreflightReport,
    ProfileNeeds,
    evaluate,
    refused,
    too_old,
)


@dataclass(frozen=True)
class Preflight:
    """How to check a server before pairing it: what its profile needs, what the admin typed,
    and whether to pair it even when a check fails."""

    address: str
    """host[:port] as typed (the report's name for the server)."""
    host: str
    """The host part of it, to compare with the name the server gives itself."""
    needs: ProfileNeeds = ProfileNeeds.MANAGED_SERVER
    desktop_version: str = "0+unknown"
    force: bool = False
    """Pair even when checks fail ("pair anyway"); a server that cannot be talked to or that
    refuses the token still cannot be paired."""
    wall_clock: Callable[[], float] = field(default=time.time, compare=False)


UNFORCEABLE = frozenset({CheckKind.REACHABLE, CheckKind.TOKEN})
"""Failures "pair anyway" cannot get past: pairing needs the agent and the token itself."""


def forceable(report: PreflightReport) -> bool:
    return not any(check.kind in UNFORCEABLE for check in report.failed)


def facts_from_wire(body: object) -> AgentFacts:
    """The agent's answer as `AgentFacts`; ValueError naming what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the facts are not a map")

    def text(key: str, default: str = "") -> str:
        value = body.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ValueError(f"{key} is not text")
        return value

    def optional_text(key: str) -> str | None:
        return text(key) or None

    def texts(key: str) -> tuple[str, ...]:
        value = body.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key} is not a list of text")
        return tuple(value)

    moment = body.get("time")
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise ValueError("time is not a number")
    available = body.get("modules_available")
    hostname = text("hostname")
    if not hostname:
        raise ValueError("hostname is missing")
    return AgentFacts(
        hostname=hostname,
        fqdn=text("fqdn"),
        addresses=texts("addresses"),
        time=float(moment),
        kernel=optional_text("kernel"),
        lustre_version=optional_text("lustre_version"),
        lustre_proc=bool(body.get("lustre_proc", False)),
        modules_loaded=texts("modules_loaded"),
        modules_available=None if available is None else texts("modules_available"),
        tools=texts("tools"),
        lnet_state=text("lnet_state", "unloaded"),
        nids=texts("nids"),
        lnet_networks=texts("lnet_networks"),
    )


def contact_of(
    link: LinkProtocol, peer: PeerHello, preflight: Preflight, asked_at: float, answered_at: float
) -> Contact:
    transport = link.transport
    seen = transport.getPeer() if transport is not None else None
    return Contact(
        address=preflight.address,
        host=preflight.host,
        peer_address=getattr(seen, "host", None),
        fingerprint=peer_fingerprint(transport) or "unknown",
        agent_version=peer.software_version,
        desktop_version=preflight.desktop_version,
        protocol_version=peer.protocol_version,
        asked_at=asked_at,
        answered_at=answered_at,
    )


@defer.inlineCallbacks
def ask_preflight(
    link: LinkProtocol,
    peer: PeerHello,
    key: bytes,
    authority: DesktopAuthority,
    preflight: Preflight,
) -> Any:
    """Ask the agent on this established, unpaired link; fires with the `PreflightReport`."""
    agent_fingerprint = peer_fingerprint(link.transport) or ""
    desktop_fingerprint = fingerprint(authority.desktop_cert_pem)
    asked_at = preflight.wall_clock()
    try:
        answer = yield link.request(
            Op.PAIR,
            {
                "step": "preflight",
                "proof": pairing_proof(
                    key,
                    pairing_material("desktop-preflight", agent_fingerprint, desktop_fingerprint),
                ),
            },
        )
    except RemoteError as refusal:
        contact = contact_of(link, peer, preflight, asked_at, asked_at)
        if "unknown pairing step" in str(refusal):
            return too_old(contact, peer.name)
        return refused(contact, peer.name, f"{peer.name} refused the token: {refusal}")
    answered_at = preflight.wall_clock()
    contact = contact_of(link, peer, preflight, asked_at, answered_at)
    expected = pairing_proof(
        key, pairing_material("agent-preflight", agent_fingerprint, desktop_fingerprint)
    )
    proof = answer.get("proof")
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        return refused(
            contact,
            peer.name,
            f"The server at {preflight.address} could not prove it knows the token: the "
            "connection may pass through something that is not the agent. Check the network "
            "path to the server.",
        )
    try:
        facts = facts_from_wire(answer.get("facts"))
    except ValueError as garbled:
        report = refused(contact, peer.name, "")
        return PreflightReport(
            report.address,
            tuple(
                CheckResult(
                    CheckKind.VERSION,
                    CheckStatus.FAIL,
                    f"{peer.name}'s agent ({peer.software_version}) sent facts this desktop "
                    f"cannot read ({garbled}); install the same version on both.",
                )
                if check.kind == CheckKind.VERSION
                else CheckResult(CheckKind.TOKEN, CheckStatus.PASS, "the agent accepted the token")
                if check.kind == CheckKind.TOKEN
                else check
                for check in report.checks
            ),
            report.server_name,
            report.fingerprint,
        )
    return evaluate(contact, facts, preflight.needs)
