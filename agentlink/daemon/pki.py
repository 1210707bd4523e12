"""The agent link's security primitives: EC P-256 keys, certificates and fingerprints, the agent's
identity on disk, one-time pairing tokens, and the Twisted TLS options of mutual TLS with pinning.

Layer: agentlink.daemon (imports nothing of core, SQLAlchemy or Qt, so the agent ships without
them; the desktop's `agentlink.authority` builds on these helpers). Thread: the key, certificate
and file helpers run on any thread and block briefly on disk; the TLS options are built once and
used on the reactor thread, where OpenSSL calls their verify callbacks during each handshake.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from OpenSSL import SSL
from OpenSSL.crypto import X509
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
)
from twisted.internet.ssl import Certificate, CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

# --- keys, certificates, fingerprints ----------------------------------------------------------

CURVE = ec.SECP256R1
AGENT_ROLE = "Chroma Agent"
"""organizationalUnitName of every agent certificate (set by the issuer, never by the agent)."""
DESKTOP_ROLE = "Chroma Desktop"
"""organizationalUnitName of the desktop's client certificate: the only one an agent accepts."""
CLOCK_SKEW = timedelta(hours=1)
"""Certificates start this long before they are made, so a server whose clock lags still accepts
a certificate issued a moment ago."""
SELF_SIGNED_DAYS = 3650
"""Validity of the agent's certificate before pairing; it carries no trust, only a fingerprint."""

_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")


def generate_key() -> bytes:
    """A new EC P-256 private key as unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(CURVE())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The EC P-256 key in `key_pem`; ValueError for anything else."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, CURVE):
        raise ValueError("the private key is not an EC P-256 key")
    return key


def load_certificate(cert_pem: bytes) -> x509.Certificate:
    """The first certificate in `cert_pem`; ValueError when there is none."""
    return x509.load_pem_x509_certificate(cert_pem)


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def subject_name(common_name: str, role: str) -> x509.Name:
    """CN = `common_name`, OU = `role`; ValueError when the name is empty or over 64 characters."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def role_of(certificate: x509.Certificate) -> str | None:
    """The OU of the certificate's subject: AGENT_ROLE, DESKTOP_ROLE, or None for a stranger."""
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if len(units) == 1 else None


def same_public_key(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    return certificate.public_key() == key.public_key()


def is_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer`'s key signed `certificate` (and the issuer names match)."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def issue_certificate(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    days: int,
    now: datetime,
    is_ca: bool = False,
    usages: Sequence[ObjectIdentifier] = (),
) -> x509.Certificate:
    """A certificate for `public_key` signed by `signer_key`: self-signed when `issuer` is None.

    It starts CLOCK_SKEW before `now`, lasts `days`, and never outlives its issuer. A CA may sign
    leaves only (path length 0); a leaf may not sign and names its `usages` (extended key usage).
    """
    not_before = now - CLOCK_SKEW
    not_after = now + timedelta(days=days)
    if issuer is not None:
        not_after = min(not_after, issuer.not_valid_after_utc)
    issuer_name = subject if issuer is None else issuer.subject
    issuer_public_key = signer_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False
        )
    )
    if is_ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(_key_usage(signing_certificates=True), critical=True)
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(_key_usage(signing_certificates=False), critical=True)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


def _key_usage(*, signing_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signing_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signing_certificates,
        crl_sign=signing_certificates,
        encipher_only=False,
        decipher_only=False,
    )


AGENT_USAGES = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
DESKTOP_USAGES = (ExtendedKeyUsageOID.CLIENT_AUTH,)


def make_csr(key_pem: bytes, common_name: str) -> bytes:
    """A certificate signing request for the key, as PEM. The issuer keeps only its public key:
    the desktop names the certificate itself."""
    key = load_private_key(key_pem)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name(common_name, AGENT_ROLE))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def self_signed(
    key_pem: bytes, common_name: str, days: int, *, now: datetime | None = None
) -> bytes:
    """The agent's certificate before pairing, as PEM: self-signed, usable for TLS server and
    client authentication, identified by its fingerprint only."""
    key = load_private_key(key_pem)
    certificate = issue_certificate(
        subject=subject_name(common_name, AGENT_ROLE),
        public_key=key.public_key(),
        signer_key=key,
        issuer=None,
        days=days,
        now=now or datetime.now(UTC),
        usages=AGENT_USAGES,
    )
    return certificate_pem(certificate)


def fingerprint(cert_pem: bytes) -> str:
    """The certificate's SHA-256 over its DER encoding: "sha256:" and 64 lower-case hex digits."""
    return _fingerprint_of(load_certificate(cert_pem))


def _fingerprint_of(certificate: x509.Certificate) -> str:
    return "sha256:" + certificate.fingerprint(hashes.SHA256()).hex()


def normalize_fingerprint(value: str) -> str:
    """`value` in canonical form ("sha256:" + 64 lower-case hex); ValueError when it is not one."""
    canonical = value.strip().lower()
    if _FINGERPRINT.fullmatch(canonical) is None:
        raise ValueError(
            f"{value!r} is not a certificate fingerprint: expected 'sha256:' and 64 hex digits"
        )
    return canonical


# --- files of the state directory --------------------------------------------------------------


class IdentityError(Exception):
    """The agent's state directory cannot be used as it is (permissions, owner, or files that do
    not belong together). The message says what to do."""


def _describe_mode(mode: int) -> str:
    return oct(stat.S_IMODE(mode))[2:].rjust(4, "0")


def ensure_private_dir(path: Path) -> None:
    """Create `path` with mode 0700 if missing; refuse one that others may enter or that belongs
    to another user."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask; be exact
    status = path.lstat()
    if not stat.S_ISDIR(status.st_mode):
        raise IdentityError(f"{path} must be a directory (not a link or a file).")
    if status.st_uid != os.geteuid():
        raise IdentityError(
            f"{path} belongs to user id {status.st_uid}, not to the agent's user "
            f"({os.geteuid()}); the agent keeps its private key there. "
            f"Fix it with `chown {os.geteuid()} {path}`."
        )
    if status.st_mode & 0o077:
        raise IdentityError(
            f"{path} has mode {_describe_mode(status.st_mode)}, so other users may reach the "
            f"agent's private key in it; the agent refuses to use it. "
            f"Fix it with `chmod 700 {path}`."
        )


def read_protected_file(path: Path, forbidden_bits: int) -> bytes:
    """The bytes of `path`, refusing a link, a file of another user, or one whose mode has any of
    `forbidden_bits` (0o077 for secrets: readable by nobody else; 0o022 for pinned
    certificates: writable by nobody else). Checks the opened file, not the name."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise IdentityError(f"{path} must be a regular file.")
        if status.st_uid != os.geteuid():
            raise IdentityError(
                f"{path} belongs to user id {status.st_uid}, not to the agent's user "
                f"({os.geteuid()}); the agent refuses to trust it. "
                f"Fix it with `chown {os.geteuid()} {path}`."
            )
        if status.st_mode & forbidden_bits:
            wanted = 0o600 if forbidden_bits & 0o044 else 0o644
            raise IdentityError(
                f"{path} has mode {_describe_mode(status.st_mode)}: other users may "
                f"{'read' if forbidden_bits & 0o044 else 'change'} it, so the agent refuses "
                f"to use it. Fix it with `chmod {wanted:o} {path}`."
            )
        return file.read()


def write_file_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` in one step (a crash leaves the old or the new file, never half
    of one), created with `mode` from the start so a secret is never readable by others."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode
    )
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)  # the umask may have narrowed it; be exact
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- the agent's identity ----------------------------------------------------------------------

KEY_FILE = "agent.key"
CERT_FILE = "agent.crt"
DESKTOP_CA_FILE = "desktop-ca.crt"
_SECRET_BITS = 0o077
_PINNED_BITS = 0o022


class AgentIdentity:
    """The agent's key pair and certificate in `state_dir` (0700): `agent.key` (0600),
    `agent.crt` (self-signed until pairing, then issued by the desktop), and once paired the
    pinned desktop CA in `desktop-ca.crt`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._key_pem: bytes | None = None
        self._cert_pem: bytes | None = None
        self._desktop_ca_pem: bytes | None = None
        self._read_signature: tuple[int | None, ...] | None = None

    @property
    def key_path(self) -> Path:
        return self.state_dir / KEY_FILE

    @property
    def cert_path(self) -> Path:
        return self.state_dir / CERT_FILE

    @property
    def desktop_ca_path(self) -> Path:
        return self.state_dir / DESKTOP_CA_FILE

    def load_or_create(self, hostname: str, *, now: datetime | None = None) -> AgentIdentity:
        """Load the identity, or make a key and a self-signed certificate (CN = `hostname`) on the
        first run. Raises IdentityError for unsafe permissions or files that do not belong
        together, saying how to fix it; never silently replaces a paired identity."""
        ensure_private_dir(self.state_dir)
        paired = self.desktop_ca_path.exists()
        if not self.key_path.exists():
            leftovers = [p.name for p in (self.cert_path, self.desktop_ca_path) if p.exists()]
            if leftovers:
                raise IdentityError(
                    f"{self.key_path} is missing but {' and '.join(leftovers)} remain in "
                    f"{self.state_dir}: the agent lost its private key. Delete "
                    f"{', '.join(str(self.state_dir / name) for name in leftovers)}, then run "
                    "`chroma-agent pair` and pair this server again from the desktop."
                )
            # The key first: a crash before the certificate is written is healed below.
            write_file_atomically(self.key_path, generate_key(), 0o600)
        key_pem = read_protected_file(self.key_path, _SECRET_BITS)
        try:
            key = load_private_key(key_pem)
        except ValueError as error:
            raise IdentityError(
                f"{self.key_path} is not a usable private key ({error}). Move it away, run "
                "`chroma-agent pair` and pair this server again from the desktop."
            ) from error
        if not self.cert_path.exists():
            if paired:
                raise IdentityError(
                    f"{self.cert_path} is missing although this server is paired. Delete "
                    f"{self.desktop_ca_path}, run `chroma-agent pair` and pair it again."
                )
            # X.509 caps a common name at 64 characters; before pairing it is only a label.
            label = hostname[:64] or "chroma-agent"
            write_file_atomically(
                self.cert_path, self_signed(key_pem, label, SELF_SIGNED_DAYS, now=now), 0o644
            )
        cert_pem = read_protected_file(self.cert_path, _PINNED_BITS)
        certificate = _load_or_explain(cert_pem, self.cert_path)
        if not same_public_key(certificate, key):
            raise IdentityError(
                f"{self.cert_path} does not belong to the key {self.key_path}. Delete "
                f"{self.cert_path} and {self.desktop_ca_path}, run `chroma-agent pair` and pair "
                "this server again."
            )
        desktop_ca_pem: bytes | None = None
        if paired:
            desktop_ca_pem = read_protected_file(self.desktop_ca_path, _PINNED_BITS)
            desktop_ca = _load_or_explain(desktop_ca_pem, self.desktop_ca_path)
            if not is_issued_by(certificate, desktop_ca):
                raise IdentityError(
                    f"{self.cert_path} was not issued by the desktop pinned in "
                    f"{self.desktop_ca_path}. Delete {self.desktop_ca_path}, run "
                    "`chroma-agent pair` and pair this server again."
                )
        self._key_pem, self._cert_pem, self._desktop_ca_pem = key_pem, cert_pem, desktop_ca_pem
        self._read_signature = self._signature()
        return self

    def refresh(self, hostname: str) -> AgentIdentity:
        """Load the identity again if its files changed since they were read (`chroma-agent
        pair --again` ran in another process while the daemon serves)."""
        signature = self._signature()
        if signature != self._read_signature:
            self.load_or_create(hostname)
        return self

    def _signature(self) -> tuple[int | None, ...]:
        def mtime(path: Path) -> int | None:
            try:
                return path.stat().st_mtime_ns
            except FileNotFoundError:
                return None

        return (mtime(self.key_path), mtime(self.cert_path), mtime(self.desktop_ca_path))

    def install_certificate(self, cert_pem: bytes, desktop_ca_pem: bytes) -> None:
        """Keep the certificate the desktop issued and pin the desktop's CA: from now on only a
        client certificate of that CA may connect. Refuses (IdentityError) a certificate that is
        not for this agent's key or not signed by that CA, or a CA that is not one."""
        key = load_private_key(self.key_pem)
        try:
            certificate = load_certificate(cert_pem)
            desktop_ca = load_certificate(desktop_ca_pem)
        except ValueError as error:
            raise IdentityError(f"The desktop sent an unreadable certificate: {error}.") from error
        if not _is_ca(desktop_ca) or not is_issued_by(desktop_ca, desktop_ca):
            raise IdentityError("The desktop's CA certificate is not a self-signed CA.")
        if not same_public_key(certificate, key):
            raise IdentityError("The desktop issued a certificate for another key than this one.")
        if not is_issued_by(certificate, desktop_ca):
            raise IdentityError("The desktop's certificate for this agent is not signed by its CA.")
        cert_pem = certificate_pem(certificate)
        desktop_ca_pem = certificate_pem(desktop_ca)
        # The certificate first: `paired` means desktop-ca.crt exists, so a crash in between
        # leaves an unpaired agent that can simply be paired again.
        write_file_atomically(self.cert_path, cert_pem, 0o644)
        write_file_atomically(self.desktop_ca_path, desktop_ca_pem, 0o644)
        self._cert_pem, self._desktop_ca_pem = cert_pem, desktop_ca_pem
        self._read_signature = self._signature()

    @property
    def key_pem(self) -> bytes:
        return self._loaded(self._key_pem)

    @property
    def cert_pem(self) -> bytes:
        return self._loaded(self._cert_pem)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert_pem)

    @property
    def paired(self) -> bool:
        self._loaded(self._key_pem)
        return self._desktop_ca_pem is not None

    @property
    def desktop_ca_pem(self) -> bytes | None:
        """The pinned desktop CA, or None before pairing."""
        self._loaded(self._key_pem)
        return self._desktop_ca_pem

    def server_tls_options(self) -> AgentServerTLS:
        """The TLS options of the agent's listening port for this identity as it is now."""
        return server_tls_options(self.key_pem, self.cert_pem, self.desktop_ca_pem)

    @staticmethod
    def _loaded(value: bytes | None) -> bytes:
        if value is None:
            raise RuntimeError("AgentIdentity.load_or_create() has not been called")
        return value


def _load_or_explain(pem: bytes, path: Path) -> x509.Certificate:
    try:
        return load_certificate(pem)
    except ValueError as error:
        raise IdentityError(
            f"{path} is not a readable certificate ({error}). Delete it, run `chroma-agent pair` "
            "and pair this server again."
        ) from error


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


# --- pairing tokens ----------------------------------------------------------------------------

TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # noqa: S105 (an alphabet, not a secret)
"""Crockford's base 32: no I, L, O or U, so nothing reads as another character."""
TOKEN_GROUPS = 4
TOKEN_GROUP_LENGTH = 5
TOKEN_LENGTH = TOKEN_GROUPS * TOKEN_GROUP_LENGTH
"""20 characters of 5 bits: 100 random bits."""
DEFAULT_TOKEN_TTL_S = 600.0
TOKENS_FILE = "pairing-tokens.json"
_FORGET_AFTER_S = 86400.0
"""Records of tokens expired longer ago than this are dropped (and then redeem as unknown)."""
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = re.compile(r"[\s\-]+")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_PAIR_AGAIN = "run `chroma-agent pair` on the server again for a new token"


class PairingError(ValueError):
    """A pairing token was refused; the message says why and what to do."""


class _TokenState(StrEnum):
    OPEN = "open"
    USED = "used"
    REPLACED = "replaced"


@dataclass
class _TokenRecord:
    sha256: str
    expires_at: float
    state: _TokenState


class PairingTokens:
    """One-time pairing tokens of this agent, in `state_dir/pairing-tokens.json` (0600).

    A token is 20 characters of Crockford base 32 in 4 dash-separated groups of 5
    ("K7QPM-2HX9D-…"). Only its SHA-256 is stored, with its expiry and whether it was used:
    100 random bits need no salt. Only the newest token works; issuing one retires the others.
    Times are wall-clock seconds (`time.time()`), because `chroma-agent pair` issues a token in
    one process and the daemon redeems it in another. Both take the lock of the directory.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    def path(self) -> Path:
        return self.state_dir / TOKENS_FILE

    def issue(self, ttl_s: float = DEFAULT_TOKEN_TTL_S, now: float | None = None) -> str:
        """A new token valid for `ttl_s` seconds from `now`, formatted for a person to type."""
        token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
        self.allow(token, ttl_s, now)
        return "-".join(
            token[start : start + TOKEN_GROUP_LENGTH]
            for start in range(0, TOKEN_LENGTH, TOKEN_GROUP_LENGTH)
        )

    def allow(self, token: str, ttl_s: float, now: float | None = None) -> None:
        """Make `token` (one chosen elsewhere: the simulator's --pairing-token) this agent's
        newest token, valid for `ttl_s` seconds from `now`; PairingError if it is not a token."""
        if not ttl_s > 0:
            raise ValueError(f"a pairing token must live a positive time, not {ttl_s} s")
        digest = token_key(token).decode("ascii")
        now = time.time() if now is None else now
        with self._locked():
            records = [
                record for record in self._load() if record.expires_at + _FORGET_AFTER_S > now
            ]
            for record in records:
                if record.state == _TokenState.OPEN:
                    record.state = _TokenState.REPLACED
            records.append(_TokenRecord(digest, now + ttl_s, _TokenState.OPEN))
            self._save(records)

    def redeem(self, token: str, now: float | None = None) -> None:
        """Accept `token` once, or raise PairingError saying why not. Case, dashes and spaces
        do not matter, and O, I and L read as 0, 1 and 1."""
        digest = token_key(token).decode("ascii")
        self._redeem(lambda record_key: hmac.compare_digest(record_key, digest), now)

    def redeem_proof(self, proof: str, material: bytes, now: float | None = None) -> bytes:
        """Accept, once, the token whose key signed `material` into `proof` (see
        `pairing_proof`), and return that key so the agent can prove it knows the token too.
        The token itself never crosses the link. Raises PairingError like `redeem`."""
        key = self._redeem(
            lambda record_key: hmac.compare_digest(
                pairing_proof(record_key.encode("ascii"), material), proof
            ),
            now,
        )
        return key.encode("ascii")

    def check_proof(self, proof: str, material: bytes, now: float | None = None) -> bytes:
        """Like `redeem_proof`, but the token stays usable: for the pre-flight checks a desktop
        runs before it pairs, which only a holder of the token may ask for. Guessing gains
        nothing over `redeem_proof` (a refused proof never used a token up there either)."""
        key = self._redeem(
            lambda record_key: hmac.compare_digest(
                pairing_proof(record_key.encode("ascii"), material), proof
            ),
            now,
            consume=False,
        )
        return key.encode("ascii")

    def _redeem(
        self, matches: Callable[[str], bool], now: float | None, *, consume: bool = True
    ) -> str:
        now = time.time() if now is None else now
        with self._locked():
            records = self._load()
            match: _TokenRecord | None = None
            for record in records:
                # Compare with every record, in constant time, so timing tells nothing.
                if matches(record.sha256):
                    match = record
            if match is None:
                raise PairingError(
                    "This pairing token is unknown to this server. Check that it was printed by "
                    f"`chroma-agent pair` on this very server, or {_PAIR_AGAIN}."
                )
            if match.state == _TokenState.USED:
                raise PairingError(
                    f"This pairing token was already used (each token pairs once); {_PAIR_AGAIN}."
                )
            if match.state == _TokenState.REPLACED:
                raise PairingError(
                    "A newer pairing token was issued on this server after this one; use the "
                    f"token `chroma-agent pair` printed last, or {_PAIR_AGAIN}."
                )
            if now >= match.expires_at:
                minutes = max(1, round((now - match.expires_at) / 60))
                raise PairingError(f"This pairing token expired {minutes} min ago; {_PAIR_AGAIN}.")
            if consume:
                match.state = _TokenState.USED
                self._save(records)
            return match.sha256

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        ensure_private_dir(self.state_dir)
        fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load(self) -> list[_TokenRecord]:
        if not self.path.exists():
            return []
        raw = read_protected_file(self.path, _SECRET_BITS)
        try:
            document = json.loads(raw)
            records = [
                _TokenRecord(
                    str(record["sha256"]),
                    float(record["expires_at"]),
                    _TokenState(record["state"]),
                )
                for record in document["tokens"]
            ]
            # compare_digest refuses non-ASCII text: keep only well-formed digests.
            return [record for record in records if _SHA256_HEX.fullmatch(record.sha256)]
        except (ValueError, TypeError, KeyError):
            # An unreadable store holds no usable token: tokens redeem as unknown, and the next
            # `chroma-agent pair` writes a fresh one.
            return []

    def _save(self, records: list[_TokenRecord]) -> None:
        document = {"version": 1, "tokens": [asdict(record) for record in records]}
        write_file_atomically(self.path, json.dumps(document, indent=1).encode(), 0o600)


def _digest(normalized_token: str) -> str:
    return hashlib.sha256(normalized_token.encode("ascii")).hexdigest()


def token_key(token: str) -> bytes:
    """The key a pairing token stands for (the SHA-256 the agent stores), from the token as a
    person typed it; PairingError when it cannot be a token at all."""
    normalized = _IGNORED.sub("", token).upper().translate(_READS_AS)
    if len(normalized) != TOKEN_LENGTH or not all(c in TOKEN_ALPHABET for c in normalized):
        raise PairingError(
            "That is not a pairing token: a token is 20 letters and digits in 4 groups of 5, "
            "like K7QPM-2HX9D-RW4TA-0JN3E, as printed by `chroma-agent pair` on the server."
        )
    return _digest(normalized).encode("ascii")


def pairing_material(role: str, agent_fingerprint: str, desktop_fingerprint: str) -> bytes:
    """What one side of a pairing signs with the token's key: its role and the two certificates
    of this very TLS connection as that side saw them. A man in the middle, who must present
    his own certificates to each side, makes the two sides sign different fingerprints, and
    without the token he cannot sign for either: the pairing fails instead of trusting him."""
    return "|".join(("chroma-pairing-v1", role, agent_fingerprint, desktop_fingerprint)).encode(
        "ascii"
    )


def pairing_proof(key: bytes, material: bytes) -> str:
    """HMAC-SHA256 of `material` under a token's key, as hex."""
    return hmac.new(key, material, hashlib.sha256).hexdigest()


# --- TLS options: mutual TLS with pinning ------------------------------------------------------


class PeerRejectedError(Exception):
    """The peer's certificate failed a check of ours (its pinned fingerprint or its role); the
    connection is closed with this as the reason, in words an administrator can act on."""


_REQUIRE_PEER = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT | SSL.VERIFY_CLIENT_ONCE
_Codes = SSL.X509VerificationCodes
_UNTRUSTED_ISSUER = frozenset(
    {
        _Codes.ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
        _Codes.ERR_SELF_SIGNED_CERT_IN_CHAIN,
        _Codes.ERR_UNABLE_TO_GET_ISSUER_CERT,
        _Codes.ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        _Codes.ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
        _Codes.ERR_CERT_UNTRUSTED,
    }
)
"""The verification errors a matching pinned fingerprint stands in for: those that only say the
issuer is not trusted. Expiry, purpose and signature errors still refuse the peer."""

_VerifyCallback = Callable[[SSL.Connection, X509, int, int, int], bool]


@functools.lru_cache(maxsize=32)
def _certificate_options(
    key_pem: bytes, cert_pem: bytes, trusted_ca_pem: bytes | None
) -> CertificateOptions:
    """One CertificateOptions, hence one OpenSSL context, per identity and trust root: every link
    of that identity shares it (building a context per connection would cost a key load each)."""
    key = load_private_key(key_pem)
    certificate = load_certificate(cert_pem)
    if not same_public_key(certificate, key):
        raise ValueError("the certificate does not belong to the private key")
    trust_root = None if trusted_ca_pem is None else Certificate.loadPEM(trusted_ca_pem)
    options = CertificateOptions(
        # pyOpenSSL 26 takes cryptography objects and deprecates its own PKey and X509; Twisted's
        # hints still name the old types, and it hands these objects straight to pyOpenSSL.
        privateKey=key,  # type: ignore[arg-type]
        certificate=certificate,  # type: ignore[arg-type]
        trustRoot=trust_root,
        raiseMinimumTo=TLSVersion.TLSv1_3,
    )
    options.getContext()  # build it now, so a bad identity fails here and not mid-handshake
    return options


def _refuse(tls_protocol: weakref.ref[TLSMemoryBIOProtocol], reason: str) -> None:
    protocol = tls_protocol()
    if protocol is not None:
        # Twisted leaves these two unannotated; the reason reaches connectionLost.
        failure = Failure(PeerRejectedError(reason))  # type: ignore[no-untyped-call]
        protocol.failVerification(failure)  # type: ignore[no-untyped-call]


def _desktop_only(tls_protocol: TLSMemoryBIOProtocol) -> _VerifyCallback:
    """Accept a client certificate that chains to the pinned CA (OpenSSL checked) and is the
    desktop's own: the CA also issues agent certificates, which an agent must not accept as
    clients, or one compromised server could drive all the others."""
    protocol_ref = weakref.ref(tls_protocol)

    def verify(connection: SSL.Connection, cert: X509, error: int, depth: int, ok: int) -> bool:
        if not ok or depth != 0:
            return bool(ok)
        try:
            if role_of(cert.to_cryptography()) == DESKTOP_ROLE:
                return True
            _refuse(
                protocol_ref,
                "The client's certificate is signed by the paired desktop's CA but is not the "
                "desktop's own (it is another agent's); refused.",
            )
        except Exception:  # an exception raised here would escape the handshake
            _refuse(protocol_ref, "The client's certificate could not be read; refused.")
        return False

    return verify


def _accept_any(connection: SSL.Connection, cert: X509, error: int, depth: int, ok: int) -> bool:
    """Pairing only: the peer's certificate is taken as it is, and the token's proofs, which
    sign its fingerprint, decide whether it is trusted."""
    return True


def _pinned(tls_protocol: TLSMemoryBIOProtocol, expected: str) -> _VerifyCallback:
    """Accept the server's certificate only when its fingerprint is `expected`; a matching
    fingerprint stands in for a trusted issuer (the first pairing connection, when the agent's
    certificate is still self-signed) but not for a valid date or usage."""
    protocol_ref = weakref.ref(tls_protocol)

    def verify(connection: SSL.Connection, cert: X509, error: int, depth: int, ok: int) -> bool:
        if depth != 0:
            # An issuer the server sends along need not be trusted either: the pin decides, at
            # depth 0, which OpenSSL verifies last whatever happened above it.
            return bool(ok) or error in _UNTRUSTED_ISSUER
        if not ok and error not in _UNTRUSTED_ISSUER:
            return False
        try:
            actual = _fingerprint_of(cert.to_cryptography())
        except Exception:  # an exception raised here would escape the handshake
            _refuse(protocol_ref, "The server's certificate could not be read; refused.")
            return False
        if hmac.compare_digest(actual, expected):
            return True
        _refuse(
            protocol_ref,
            f"The server presented certificate {actual}, but {expected} was expected: it is not "
            "the agent paired at this address (or it was reinstalled). Check the server, then "
            "pair it again if it was reinstalled.",
        )
        return False

    return verify


@implementer(IOpenSSLServerConnectionCreator)
class AgentServerTLS:
    """The agent's listening side. Paired: only the desktop's client certificate, issued by the
    pinned desktop CA, completes a handshake. Unpaired: any client completes it, and the
    protocol on top must allow nothing but pairing (`paired` says which)."""

    def __init__(self, options: CertificateOptions, paired: bool) -> None:
        self.options = options
        self.paired = paired

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = self.options.serverConnectionForTLS(tlsProtocol)
        if self.paired:
            connection.set_verify(_REQUIRE_PEER, _desktop_only(tlsProtocol))
        else:
            # Any certificate, but one is required: pairing binds the token to its fingerprint.
            connection.set_verify(_REQUIRE_PEER, _accept_any)
        return connection


@implementer(IOpenSSLClientConnectionCreator)
class DesktopClientTLS:
    """The desktop's connecting side: presents the desktop's client certificate and accepts the
    agent's certificate if it chains to our CA (no fingerprint given) or if its fingerprint is
    the expected one (given: whatever its issuer)."""

    def __init__(
        self,
        options: CertificateOptions,
        expected_fingerprint: str | None,
        *,
        pairing: bool = False,
    ) -> None:
        self.options = options
        self.expected_fingerprint = expected_fingerprint
        self.pairing = pairing

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = self.options.clientConnectionForTLS(tlsProtocol)
        if self.pairing:
            connection.set_verify(_REQUIRE_PEER, _accept_any)
        elif self.expected_fingerprint is not None:
            connection.set_verify(_REQUIRE_PEER, _pinned(tlsProtocol, self.expected_fingerprint))
        return connection


def server_tls_options(
    key_pem: bytes, cert_pem: bytes, trusted_ca_pem: bytes | None
) -> AgentServerTLS:
    """TLS 1.3 options for the agent's port. With `trusted_ca_pem` (paired) a client must present
    the desktop certificate issued by that CA; without it (before pairing) any client connects,
    for pairing only."""
    return AgentServerTLS(
        _certificate_options(key_pem, cert_pem, trusted_ca_pem), trusted_ca_pem is not None
    )


def client_tls_options(
    key_pem: bytes, cert_pem: bytes, ca_pem: bytes, expected_fingerprint: str | None
) -> DesktopClientTLS:
    """TLS 1.3 options for the desktop connecting to one agent, presenting the desktop's client
    certificate. Without `expected_fingerprint` the agent's certificate must chain to `ca_pem`;
    with it, the certificate must have exactly that fingerprint (the one pinned at pairing, or,
    for the first pairing connection, the self-signed one the admin confirmed)."""
    expected = None if expected_fingerprint is None else normalize_fingerprint(expected_fingerprint)
    return DesktopClientTLS(_certificate_options(key_pem, cert_pem, ca_pem), expected)


def pairing_client_tls_options(key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> DesktopClientTLS:
    """TLS 1.3 options for the desktop's pairing connection to a new agent: whatever certificate
    the agent presents is accepted for the length of the pairing exchange, which proves with the
    token that both ends saw the same two certificates (see `pairing_material`); nothing but
    pairing happens on such a link."""
    return DesktopClientTLS(_certificate_options(key_pem, cert_pem, ca_pem), None, pairing=True)


def peer_fingerprint(transport: object) -> str | None:
    """The fingerprint of the certificate the peer of a TLS transport presented, or None."""
    get_peer_certificate = getattr(transport, "getPeerCertificate", None)
    if get_peer_certificate is None:
        return None
    certificate = get_peer_certificate()
    if certificate is None:
        return None
    return _fingerprint_of(certificate.to_cryptography())
