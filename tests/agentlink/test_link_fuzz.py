"""A bounded fuzz run at both ends of a link: the agent's service (actions, journal, pairing
refusals) and the desktop's kept link (pushes, backfill). Nothing may escape the protocol; a
bad frame closes its connection with a reason. `bench/link.py` runs the same fuzzer on a
million frames."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock

from agentlink.authority import DesktopAuthority
from agentlink.connector import AgentEndpoint, AgentLinks, _Agent
from agentlink.daemon.journal import RecordJournal
from agentlink.daemon.pki import AgentIdentity, PairingTokens, make_csr
from agentlink.daemon.service import AgentService
from agentlink.gateway import LinkGateway
from agentlink.protocol import LinkProtocol
from core.fakes import MemorySecretStore
from tests.agentlink.fuzz import fuzz
from tests.agentlink.test_agent_service import ScriptedHost, stat

FRAMES = 3_000


@pytest.fixture
def authority(tmp_path: Path) -> DesktopAuthority:
    return DesktopAuthority(MemorySecretStore(), tmp_path / "desktop").load_or_create(
        datetime.now(UTC)
    )


def test_the_agent_survives_random_and_mutated_frames(tmp_path: Path, authority):
    state = tmp_path / "agent"
    identity = AgentIdentity(state).load_or_create("oss1.lab")
    identity.install_certificate(
        authority.issue_agent_certificate(make_csr(identity.key_pem, "oss1"), "oss1"),
        authority.ca_pem,
    )
    host = ScriptedHost("oss1.lab")
    with RecordJournal(state / "journal") as journal:
        journal.append([stat(n) for n in range(20)])
        clock = Clock()
        service = AgentService(
            host, identity, PairingTokens(state), journal, clock=clock, software_version="9.9"
        )
        report = fuzz(lambda _clock: service.build_link(), FRAMES, seed=1)
    assert report.crashes == []
    assert report.outcomes["closed with a reason"] > FRAMES / 10
    assert report.outcomes["still open"] > 0  # valid frames were served, not only refused
    assert service.links == set()  # every fuzzed connection was let go


def test_the_desktop_survives_random_and_mutated_frames(authority):
    clock = MemoryReactorClock()
    gateway = LinkGateway(lambda work: work())
    links = AgentLinks(clock, authority, gateway, software_version="9.9")
    agent = _Agent(links, AgentEndpoint("oss1.lab", "127.0.0.1", 1, "sha256:" + "0" * 64))

    def desktop_link(_clock: Clock) -> LinkProtocol:
        link = agent._build_link()
        agent._established(link).addErrback(lambda _: None)
        return link

    report = fuzz(desktop_link, FRAMES, seed=2)
    assert report.crashes == []
    assert report.outcomes["closed with a reason"] > FRAMES / 10
