"""The agent link's keys, certificates and agent identity on disk, and real mutual-TLS handshakes
in memory (Twisted's TLS over an in-memory pump: no sockets, no running reactor) between a
desktop and an agent built with the options of agentlink.daemon.pki."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.protocol import ClientFactory, Factory, Protocol, connectionDone
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test.iosim import IOPump, connectedServerAndClient

from agentlink.authority import DesktopAuthority
from agentlink.daemon.pki import (
    AGENT_ROLE,
    AgentIdentity,
    AgentServerTLS,
    DesktopClientTLS,
    IdentityError,
    PeerRejectedError,
    client_tls_options,
    fingerprint,
    generate_key,
    load_private_key,
    make_csr,
    self_signed,
    server_tls_options,
)
from core.fakes import MemorySecretStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def common_name(certificate: x509.Certificate | x509.CertificateSigningRequest) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def new_authority(directory: Path) -> DesktopAuthority:
    return DesktopAuthority(MemorySecretStore(), directory).load_or_create(NOW)


def paired_agent(directory: Path, authority: DesktopAuthority, name: str) -> AgentIdentity:
    identity = AgentIdentity(directory).load_or_create(name)
    certificate = authority.issue_agent_certificate(make_csr(identity.key_pem, name), name)
    identity.install_certificate(certificate, authority.ca_pem)
    return identity


# --- keys, requests, certificates, fingerprints ------------------------------------------------


def test_a_key_is_ec_p256_pem_and_loads_back() -> None:
    key_pem = generate_key()

    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = load_private_key(key_pem)
    assert isinstance(key.curve, ec.SECP256R1)
    assert load_private_key(key_pem).private_numbers() == key.private_numbers()


def test_a_key_of_another_kind_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="P-256"):
        load_private_key(other)


def test_a_csr_carries_the_key_and_the_name_and_is_signed_by_the_key() -> None:
    key_pem = generate_key()

    request = x509.load_pem_x509_csr(make_csr(key_pem, "oss1.example.com"))

    assert request.is_signature_valid
    assert common_name(request) == "oss1.example.com"
    assert request.public_key() == load_private_key(key_pem).public_key()


def test_a_self_signed_certificate_is_a_server_and_client_leaf_of_its_own_key() -> None:
    key_pem = generate_key()

    certificate = x509.load_pem_x509_certificate(self_signed(key_pem, "oss1", 30, now=NOW))

    assert common_name(certificate) == "oss1"
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    assert certificate.public_key() == load_private_key(key_pem).public_key()
    assert certificate.not_valid_after_utc == NOW + timedelta(days=30)
    assert certificate.not_valid_before_utc < NOW  # a lagging clock still accepts it
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not constraints.ca
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_a_fingerprint_is_the_sha256_of_the_der_and_stable() -> None:
    cert_pem = self_signed(generate_key(), "oss1", 30)
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)

    value = fingerprint(cert_pem)

    assert FINGERPRINT.fullmatch(value)
    assert value == "sha256:" + hashlib.sha256(der).hexdigest()
    assert fingerprint(cert_pem) == value
    assert fingerprint(b"\n" + cert_pem + b"\n") == value  # the PEM's wrapping does not matter
    assert fingerprint(self_signed(generate_key(), "oss1", 30)) != value


# --- the agent's identity on disk --------------------------------------------------------------


def test_the_first_run_makes_a_private_directory_key_and_certificate(tmp_path: Path) -> None:
    state = tmp_path / "chroma-agent"

    identity = AgentIdentity(state).load_or_create("oss1")

    assert mode_of(state) == 0o700
    assert mode_of(state / "agent.key") == 0o600
    assert (state / "agent.key").read_bytes() == identity.key_pem
    assert (state / "agent.crt").read_bytes() == identity.cert_pem
    assert common_name(x509.load_pem_x509_certificate(identity.cert_pem)) == "oss1"
    assert FINGERPRINT.fullmatch(identity.fingerprint)
    assert not identity.paired
    assert identity.desktop_ca_pem is None


def test_modes_are_exact_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        AgentIdentity(tmp_path / "state").load_or_create("oss1")
    finally:
        os.umask(previous)

    assert mode_of(tmp_path / "state") == 0o700
    assert mode_of(tmp_path / "state" / "agent.key") == 0o600


def test_the_identity_survives_a_reload(tmp_path: Path) -> None:
    first = AgentIdentity(tmp_path).load_or_create("oss1")

    again = AgentIdentity(tmp_path).load_or_create("renamed-host")

    assert again.key_pem == first.key_pem
    assert again.cert_pem == first.cert_pem
    assert again.fingerprint == first.fingerprint


def test_a_host_name_longer_than_a_common_name_still_gets_an_identity(tmp_path: Path) -> None:
    hostname = "oss1." + "very-long-domain-label." * 5 + "example.com"

    identity = AgentIdentity(tmp_path).load_or_create(hostname)

    assert common_name(x509.load_pem_x509_certificate(identity.cert_pem)) == hostname[:64]


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    AgentIdentity(tmp_path).load_or_create("oss1")
    (tmp_path / "agent.key").chmod(0o644)

    with pytest.raises(IdentityError, match=r"agent\.key has mode 0644.*chmod 600"):
        AgentIdentity(tmp_path).load_or_create("oss1")


def test_a_state_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    AgentIdentity(state).load_or_create("oss1")
    state.chmod(0o755)

    with pytest.raises(IdentityError, match=r"mode 0755.*chmod 700"):
        AgentIdentity(state).load_or_create("oss1")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    AgentIdentity(tmp_path).load_or_create("oss1")
    os.chown(tmp_path / "agent.key", 65534, -1)

    with pytest.raises(IdentityError, match="belongs to user id 65534"):
        AgentIdentity(tmp_path).load_or_create("oss1")


def test_a_lost_key_is_not_silently_replaced(tmp_path: Path) -> None:
    AgentIdentity(tmp_path).load_or_create("oss1")
    (tmp_path / "agent.key").unlink()

    with pytest.raises(IdentityError, match=r"agent\.key is missing.*chroma-agent pair"):
        AgentIdentity(tmp_path).load_or_create("oss1")
    assert not (tmp_path / "agent.key").exists()


def test_install_certificate_pins_the_desktop_ca(tmp_path: Path) -> None:
    authority = new_authority(tmp_path / "desktop")
    identity = AgentIdentity(tmp_path / "agent").load_or_create("oss1")
    issued = authority.issue_agent_certificate(make_csr(identity.key_pem, "oss1"), "agent-7")

    identity.install_certificate(issued, authority.ca_pem)

    assert identity.paired
    assert identity.desktop_ca_pem == authority.ca_pem
    assert (tmp_path / "agent" / "desktop-ca.crt").read_bytes() == authority.ca_pem
    assert identity.cert_pem == issued
    reloaded = AgentIdentity(tmp_path / "agent").load_or_create("oss1")
    assert reloaded.paired
    assert reloaded.desktop_ca_pem == authority.ca_pem
    assert reloaded.fingerprint == fingerprint(issued)


def test_install_certificate_refuses_a_certificate_for_another_key(tmp_path: Path) -> None:
    authority = new_authority(tmp_path / "desktop")
    identity = AgentIdentity(tmp_path / "agent").load_or_create("oss1")
    stranger = authority.issue_agent_certificate(make_csr(generate_key(), "x"), "agent-7")

    with pytest.raises(IdentityError, match="another key"):
        identity.install_certificate(stranger, authority.ca_pem)
    assert not identity.paired
    assert not (tmp_path / "agent" / "desktop-ca.crt").exists()


def test_install_certificate_refuses_a_certificate_of_another_ca(tmp_path: Path) -> None:
    ours, theirs = new_authority(tmp_path / "ours"), new_authority(tmp_path / "theirs")
    identity = AgentIdentity(tmp_path / "agent").load_or_create("oss1")
    issued = theirs.issue_agent_certificate(make_csr(identity.key_pem, "oss1"), "agent-7")

    with pytest.raises(IdentityError, match="not signed by its CA"):
        identity.install_certificate(issued, ours.ca_pem)
    assert not identity.paired


# --- mutual TLS in memory ----------------------------------------------------------------------


@dataclass
class Peer:
    """What one end of a connection saw: the bytes delivered to it and how it ended."""

    received: bytes = b""
    lost: Failure | None = None
    greeting: bytes | None = None

    def reason(self) -> BaseException | None:
        return None if self.lost is None else self.lost.value


class PeerProtocol(Protocol):
    def __init__(self, peer: Peer, echo: bool) -> None:
        self.peer = peer
        self.echo = echo

    def connectionMade(self) -> None:
        if self.peer.greeting is not None:
            self.transport.write(self.peer.greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.peer.received += data
        if self.echo:
            self.transport.write(data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.peer.lost = reason


@dataclass
class Link:
    desktop: Peer
    agent: Peer
    pump: IOPump
    desktop_connection: SSL.Connection


def handshake(agent_tls: AgentServerTLS, desktop_tls: DesktopClientTLS) -> Link:
    """Connect a desktop (client, says b"ping") to an agent (server, echoes) and pump until
    nothing moves any more."""
    clock = Clock()
    desktop, agent = Peer(greeting=b"ping"), Peer()
    agent_factory = TLSMemoryBIOFactory(
        agent_tls, False, Factory.forProtocol(lambda: PeerProtocol(agent, echo=True)), clock
    )
    desktop_factory = TLSMemoryBIOFactory(
        desktop_tls,
        True,
        ClientFactory.forProtocol(lambda: PeerProtocol(desktop, echo=False)),
        clock,
    )
    address = IPv4Address("TCP", "192.0.2.1", 7000)
    client, _server, pump = connectedServerAndClient(
        lambda: agent_factory.buildProtocol(address),
        lambda: desktop_factory.buildProtocol(address),
        greet=False,
        clock=clock,
    )
    pump.flush()
    return Link(desktop, agent, pump, client.getHandle())  # type: ignore[attr-defined]


@dataclass
class Cluster:
    authority: DesktopAuthority
    agent: AgentIdentity
    other_agent: AgentIdentity


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    authority = new_authority(tmp_path / "desktop")
    return Cluster(
        authority,
        paired_agent(tmp_path / "oss1", authority, "oss1"),
        paired_agent(tmp_path / "oss2", authority, "oss2"),
    )


def desktop_tls(authority: DesktopAuthority, expected: str | None) -> DesktopClientTLS:
    return client_tls_options(
        authority.desktop_key_pem, authority.desktop_cert_pem, authority.ca_pem, expected
    )


def assert_delivered(link: Link) -> None:
    assert link.agent.received == b"ping", "the agent did not get the desktop's bytes"
    assert link.desktop.received == b"ping", "the desktop did not get the agent's answer"
    assert link.desktop.lost is None and link.agent.lost is None


def assert_refused(link: Link) -> None:
    """No application byte crossed, and both ends saw the connection end (the refusing end with a
    TLS error or our reason; the refused end with a TLS alert or an aborted connection)."""
    assert link.agent.received == b"", "the agent acted on bytes from a refused peer"
    assert link.desktop.received == b""
    assert link.desktop.lost is not None and link.agent.lost is not None
    for end in (link.desktop, link.agent):
        assert isinstance(end.reason(), SSL.Error | PeerRejectedError | ConnectionLost)


def test_a_paired_agent_and_its_desktop_talk_both_ways(cluster: Cluster) -> None:
    link = handshake(
        cluster.agent.server_tls_options(),
        desktop_tls(cluster.authority, cluster.agent.fingerprint),
    )

    assert_delivered(link)


def test_without_a_pin_any_agent_of_our_ca_is_accepted(cluster: Cluster) -> None:
    link = handshake(cluster.agent.server_tls_options(), desktop_tls(cluster.authority, None))

    assert_delivered(link)


def test_a_desktop_of_another_ca_is_refused_by_the_agent(cluster: Cluster, tmp_path: Path) -> None:
    intruder = new_authority(tmp_path / "intruder")
    # The intruder trusts the agent (by its fingerprint), so only the agent's check can refuse.
    intruder_tls = client_tls_options(
        intruder.desktop_key_pem,
        intruder.desktop_cert_pem,
        intruder.ca_pem,
        cluster.agent.fingerprint,
    )

    link = handshake(cluster.agent.server_tls_options(), intruder_tls)

    assert_refused(link)
    reason = link.agent.reason()
    assert isinstance(reason, SSL.Error) and "certificate verify failed" in str(reason)


def test_another_agent_of_our_ca_cannot_pose_as_the_desktop(cluster: Cluster) -> None:
    impostor = client_tls_options(
        cluster.other_agent.key_pem,
        cluster.other_agent.cert_pem,
        cluster.authority.ca_pem,
        cluster.agent.fingerprint,
    )

    link = handshake(cluster.agent.server_tls_options(), impostor)

    assert_refused(link)
    assert isinstance(link.agent.reason(), PeerRejectedError)
    assert "not the desktop's own" in str(link.agent.reason())


def test_an_agent_of_another_ca_that_does_not_match_the_pin_is_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    stranger = AgentIdentity(tmp_path / "stranger").load_or_create("oss1")

    link = handshake(
        stranger.server_tls_options(), desktop_tls(cluster.authority, cluster.agent.fingerprint)
    )

    assert_refused(link)
    reason = link.desktop.reason()
    assert isinstance(reason, PeerRejectedError)
    assert stranger.fingerprint in str(reason) and cluster.agent.fingerprint in str(reason)


def test_an_agent_of_another_ca_is_refused_without_a_pin(cluster: Cluster, tmp_path: Path) -> None:
    stranger = AgentIdentity(tmp_path / "stranger").load_or_create("oss1")

    link = handshake(stranger.server_tls_options(), desktop_tls(cluster.authority, None))

    assert_refused(link)
    reason = link.desktop.reason()
    assert isinstance(reason, SSL.Error) and "certificate verify failed" in str(reason)


def test_another_agent_of_our_ca_is_refused_where_a_pin_names_this_one(
    cluster: Cluster,
) -> None:
    link = handshake(
        cluster.other_agent.server_tls_options(),
        desktop_tls(cluster.authority, cluster.agent.fingerprint),
    )

    assert_refused(link)
    assert isinstance(link.desktop.reason(), PeerRejectedError)


def test_the_first_pairing_connection_is_accepted_when_the_fingerprint_matches(
    cluster: Cluster, tmp_path: Path
) -> None:
    unpaired = AgentIdentity(tmp_path / "new").load_or_create("oss9")

    link = handshake(
        unpaired.server_tls_options(),
        desktop_tls(cluster.authority, unpaired.fingerprint.upper().replace("SHA256", "sha256")),
    )

    assert_delivered(link)
    assert not unpaired.server_tls_options().paired


def test_a_matching_fingerprint_does_not_excuse_an_expired_certificate(
    cluster: Cluster, tmp_path: Path
) -> None:
    key_pem = generate_key()
    expired = self_signed(key_pem, "oss9", 1, now=datetime.now(UTC) - timedelta(days=30))

    link = handshake(
        server_tls_options(key_pem, expired, None),
        desktop_tls(cluster.authority, fingerprint(expired)),
    )

    assert_refused(link)
    assert "certificate verify failed" in str(link.desktop.reason())
    assert "expired" in str(link.agent.reason())  # the alert the desktop sent


def test_links_of_one_identity_share_one_tls_context(cluster: Cluster) -> None:
    first = handshake(cluster.agent.server_tls_options(), desktop_tls(cluster.authority, None))
    second = handshake(
        cluster.other_agent.server_tls_options(),
        desktop_tls(cluster.authority, cluster.other_agent.fingerprint),
    )

    assert_delivered(first)
    assert_delivered(second)
    assert first.desktop_connection.get_context() is second.desktop_connection.get_context()


def test_a_certificate_that_is_not_the_keys_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        server_tls_options(generate_key(), self_signed(generate_key(), "x", 1), None)


def test_a_malformed_fingerprint_is_refused(cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="not a certificate fingerprint"):
        desktop_tls(cluster.authority, "sha1:abcdef")


def test_issued_agent_certificates_carry_the_agent_role(cluster: Cluster) -> None:
    certificate = x509.load_pem_x509_certificate(cluster.agent.cert_pem)
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)

    assert [unit.value for unit in units] == [AGENT_ROLE]
