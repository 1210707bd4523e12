"""The desktop's certificate authority: made once, loaded the same afterwards, private keys only
in the secret store, agent certificates that chain to it, and a clear AuthorityError (never a
silent new CA) when the keyring and the certificate files disagree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agentlink.authority import (
    AGENT_CERT_DAYS,
    CA_DAYS,
    CA_KEY_SECRET,
    DESKTOP_KEY_SECRET,
    AuthorityError,
    DesktopAuthority,
)
from agentlink.daemon.pki import (
    AGENT_ROLE,
    DESKTOP_ROLE,
    generate_key,
    load_private_key,
    make_csr,
    subject_name,
)
from agentlink.secrets import KeyringSecretStore
from core.errors import ChromaError, SecretStoreUnavailableError, ValidationError
from core.fakes import MemorySecretStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemorySecretStore:
    return MemorySecretStore()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def authority(store: MemorySecretStore, config_dir: Path) -> DesktopAuthority:
    return DesktopAuthority(store, config_dir).load_or_create(NOW)


def cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def names(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(oid)]


def usages(certificate: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    public_key = issuer.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert certificate.signature_hash_algorithm is not None
    try:
        public_key.verify(
            certificate.signature,
            certificate.tbs_certificate_bytes,
            ec.ECDSA(certificate.signature_hash_algorithm),
        )
    except Exception:
        return False
    return certificate.issuer == issuer.subject


# --- first run and later runs ------------------------------------------------------------------


def test_the_first_run_makes_a_ten_year_ca_and_the_desktops_client_certificate(
    authority: DesktopAuthority, config_dir: Path
) -> None:
    ca = cert(authority.ca_pem)
    desktop = cert(authority.desktop_cert_pem)

    assert (config_dir / "ca.crt").read_bytes() == authority.ca_pem
    assert (config_dir / "desktop.crt").read_bytes() == authority.desktop_cert_pem
    [ca_name] = names(ca, NameOID.COMMON_NAME)
    assert ca_name.startswith("Chroma Desktop CA ") and len(ca_name) > len("Chroma Desktop CA ")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc == NOW + timedelta(days=CA_DAYS)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert signed_by(ca, ca)
    assert signed_by(desktop, ca)
    assert names(desktop, NameOID.ORGANIZATIONAL_UNIT_NAME) == [DESKTOP_ROLE]
    assert usages(desktop) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert desktop.public_key() == load_private_key(authority.desktop_key_pem).public_key()


def test_a_second_run_loads_the_same_ca_and_certificate(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    again = DesktopAuthority(store, config_dir).load_or_create(NOW + timedelta(days=1))

    assert again.ca_pem == authority.ca_pem
    assert again.desktop_cert_pem == authority.desktop_cert_pem
    assert again.desktop_key_pem == authority.desktop_key_pem
    assert again.ca_fingerprint == authority.ca_fingerprint


def test_private_keys_live_in_the_secret_store_only(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    ca_key = store.get_secret(CA_KEY_SECRET)
    desktop_key = store.get_secret(DESKTOP_KEY_SECRET)
    assert ca_key is not None and desktop_key is not None
    assert desktop_key.encode() == authority.desktop_key_pem
    key_bodies = [
        "".join(line for line in pem.splitlines() if not line.startswith("-----"))
        for pem in (ca_key, desktop_key)
    ]

    files = [path for path in config_dir.rglob("*") if path.is_file()]
    assert sorted(path.name for path in files) == ["ca.crt", "desktop.crt"]
    for path in files:
        content = path.read_text()
        assert "PRIVATE KEY" not in content
        for body in key_bodies:
            assert body[:40] not in content


def test_it_works_on_the_keyring_secret_store(config_dir: Path) -> None:
    first = DesktopAuthority(KeyringSecretStore(), config_dir).load_or_create(NOW)

    again = DesktopAuthority(KeyringSecretStore(), config_dir).load_or_create(NOW)

    assert again.ca_pem == first.ca_pem


def test_a_keyring_that_refuses_leaves_nothing_half_made(config_dir: Path) -> None:
    class RefusingStore(MemorySecretStore):
        def set_secret(self, key: str, secret: str) -> None:
            raise SecretStoreUnavailableError("The keyring is locked.")

    with pytest.raises(SecretStoreUnavailableError):
        DesktopAuthority(RefusingStore(), config_dir).load_or_create(NOW)

    assert not (config_dir / "ca.crt").exists()
    DesktopAuthority(MemorySecretStore(), config_dir).load_or_create(NOW)  # a later run works


# --- agent certificates ------------------------------------------------------------------------


def test_an_agent_certificate_chains_to_the_ca(authority: DesktopAuthority) -> None:
    key_pem = generate_key()

    issued = cert(authority.issue_agent_certificate(make_csr(key_pem, "oss1"), "agent-7", now=NOW))

    assert signed_by(issued, cert(authority.ca_pem))
    issued.verify_directly_issued_by(cert(authority.ca_pem))
    assert issued.public_key() == load_private_key(key_pem).public_key()
    assert names(issued, NameOID.COMMON_NAME) == ["agent-7"]
    assert names(issued, NameOID.ORGANIZATIONAL_UNIT_NAME) == [AGENT_ROLE]
    assert usages(issued) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert issued.not_valid_after_utc == NOW + timedelta(days=AGENT_CERT_DAYS)
    assert not issued.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_an_agent_cannot_ask_for_the_desktops_role(authority: DesktopAuthority) -> None:
    key = load_private_key(generate_key())
    greedy = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name("Chroma Desktop", DESKTOP_ROLE))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )

    issued = cert(authority.issue_agent_certificate(greedy, "agent-7"))

    assert names(issued, NameOID.ORGANIZATIONAL_UNIT_NAME) == [AGENT_ROLE]
    assert names(issued, NameOID.COMMON_NAME) == ["agent-7"]


def test_an_agent_certificate_never_outlives_the_ca(authority: DesktopAuthority) -> None:
    late = NOW + timedelta(days=CA_DAYS - 100)

    issued = cert(authority.issue_agent_certificate(make_csr(generate_key(), "x"), "a", now=late))

    assert issued.not_valid_after_utc == cert(authority.ca_pem).not_valid_after_utc


def test_a_request_that_is_not_a_csr_is_an_authority_error(authority: DesktopAuthority) -> None:
    with pytest.raises(AuthorityError, match="unreadable certificate request"):
        authority.issue_agent_certificate(b"-----BEGIN CERTIFICATE REQUEST-----\n", "agent-7")


def test_a_request_for_another_kind_of_key_is_refused(authority: DesktopAuthority) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name("oss1", AGENT_ROLE))
        .sign(rsa_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )

    with pytest.raises(AuthorityError, match="P-256"):
        authority.issue_agent_certificate(request, "agent-7")


@pytest.mark.parametrize("agent_id", ["", "x" * 65, "tab\there"])
def test_an_agent_id_that_cannot_be_a_common_name_is_refused(
    authority: DesktopAuthority, agent_id: str
) -> None:
    with pytest.raises(ValidationError, match="agent_id"):
        authority.issue_agent_certificate(make_csr(generate_key(), "oss1"), agent_id)


# --- a keyring and files that disagree ---------------------------------------------------------


def test_a_ca_certificate_without_its_key_is_an_authority_error(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    ca_before = (config_dir / "ca.crt").read_bytes()
    store.delete_secret(CA_KEY_SECRET)

    with pytest.raises(AuthorityError) as raised:
        DesktopAuthority(store, config_dir).load_or_create(NOW)

    message = str(raised.value)
    assert CA_KEY_SECRET in message and "ca.crt" in message
    assert "pair" in message and "delete" in message.lower()
    assert isinstance(raised.value, ChromaError)
    assert (config_dir / "ca.crt").read_bytes() == ca_before  # nothing regenerated
    assert store.get_secret(CA_KEY_SECRET) is None


def test_a_ca_key_without_its_certificate_is_an_authority_error(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    key_before = store.get_secret(CA_KEY_SECRET)
    (config_dir / "ca.crt").unlink()

    with pytest.raises(AuthorityError, match=r"ca\.crt is missing.*Restore"):
        DesktopAuthority(store, config_dir).load_or_create(NOW)

    assert store.get_secret(CA_KEY_SECRET) == key_before
    assert not (config_dir / "ca.crt").exists()


def test_a_ca_certificate_of_another_authority_is_an_authority_error(
    authority: DesktopAuthority, store: MemorySecretStore, tmp_path: Path, config_dir: Path
) -> None:
    other = DesktopAuthority(MemorySecretStore(), tmp_path / "other").load_or_create(NOW)
    (config_dir / "ca.crt").write_bytes(other.ca_pem)

    with pytest.raises(AuthorityError, match="different authorities"):
        DesktopAuthority(store, config_dir).load_or_create(NOW)


def test_the_desktop_certificate_without_its_key_is_an_authority_error_with_a_cure(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    store.delete_secret(DESKTOP_KEY_SECRET)

    with pytest.raises(AuthorityError, match=r"desktop\.crt.*Delete .*desktop\.crt"):
        DesktopAuthority(store, config_dir).load_or_create(NOW)

    (config_dir / "desktop.crt").unlink()  # the cure the message gives
    cured = DesktopAuthority(store, config_dir).load_or_create(NOW)
    assert cured.ca_pem == authority.ca_pem
    assert cured.desktop_cert_pem != authority.desktop_cert_pem
    desktop_key = load_private_key(cured.desktop_key_pem)
    assert cert(cured.desktop_cert_pem).public_key() == desktop_key.public_key()


def test_an_expired_ca_is_an_authority_error(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    with pytest.raises(AuthorityError, match="expired"):
        DesktopAuthority(store, config_dir).load_or_create(NOW + timedelta(days=CA_DAYS + 1))


def test_forget_starts_over_with_a_new_ca(
    authority: DesktopAuthority, store: MemorySecretStore, config_dir: Path
) -> None:
    old_ca = authority.ca_pem

    authority.forget()

    assert not any(config_dir.iterdir())
    assert store.get_secret(CA_KEY_SECRET) is None
    assert store.get_secret(DESKTOP_KEY_SECRET) is None
    assert DesktopAuthority(store, config_dir).load_or_create(NOW).ca_pem != old_ca


def test_using_it_before_loading_is_a_programming_error(
    store: MemorySecretStore, config_dir: Path
) -> None:
    with pytest.raises(RuntimeError, match="load_or_create"):
        _ = DesktopAuthority(store, config_dir).ca_pem
