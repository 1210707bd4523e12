"""The desktop's certificate authority for the agent link: made on first run, it signs the
desktop's own client certificate and every paired agent's certificate; agents pin it.

Layer: agentlink (desktop side; uses core's SecretStore port and errors). Thread: any thread but
the GUI thread, since the keyring and the disk may block. Private keys live only in the secret
store (the OS keyring); `config_dir` holds only the public certificates `ca.crt` and
`desktop.crt`. A half-present authority is an AuthorityError saying what is missing and what to
do, never a silent new CA: a new CA would disconnect every paired agent.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from agentlink.daemon.pki import (
    AGENT_ROLE,
    AGENT_USAGES,
    CURVE,
    DESKTOP_ROLE,
    DESKTOP_USAGES,
    DesktopClientTLS,
    certificate_pem,
    client_tls_options,
    fingerprint,
    generate_key,
    is_issued_by,
    issue_certificate,
    load_certificate,
    load_private_key,
    pairing_client_tls_options,
    same_public_key,
    subject_name,
    write_file_atomically,
)
from core.errors import ChromaError, ValidationError
from core.ports import SecretStore

# Names of keyring entries, not secrets.
CA_KEY_SECRET = "agentlink/ca-key"  # noqa: S105
DESKTOP_KEY_SECRET = "agentlink/desktop-key"  # noqa: S105
CA_CERT_FILE = "ca.crt"
DESKTOP_CERT_FILE = "desktop.crt"
CA_DAYS = 3650
"""Ten years; the desktop's own certificate lasts as long as the CA."""
AGENT_CERT_DAYS = 5 * 365
"""Five years, and never beyond the CA's end."""
MAX_AGENT_ID_LENGTH = 64
"""The longest common name X.509 allows."""


class AuthorityError(ChromaError):
    """The desktop's certificate authority cannot be used as it is; the message says what is
    missing and the hint what to do."""


class DesktopAuthority:
    def __init__(self, secret_store: SecretStore, config_dir: Path) -> None:
        self._secrets = secret_store
        self.config_dir = config_dir
        self._ca: x509.Certificate | None = None
        self._ca_key: ec.EllipticCurvePrivateKey | None = None
        self._desktop_cert_pem: bytes | None = None
        self._desktop_key_pem: bytes | None = None

    @property
    def ca_path(self) -> Path:
        return self.config_dir / CA_CERT_FILE

    @property
    def desktop_cert_path(self) -> Path:
        return self.config_dir / DESKTOP_CERT_FILE

    def load_or_create(self, now: datetime) -> DesktopAuthority:
        """Load the CA and the desktop's certificate, or make both when neither the CA's
        certificate nor its key exists yet. Raises AuthorityError when only one of them exists,
        when they do not belong together, or when the CA has expired."""
        ca_key_pem = self._secrets.get_secret(CA_KEY_SECRET)
        ca_file_exists = self.ca_path.exists()
        if not ca_file_exists and ca_key_pem is None:
            self._create(now)
            return self
        if ca_key_pem is None:
            raise AuthorityError(
                f"The agent-link CA certificate {self.ca_path} exists, but its private key is "
                f"not in the keyring (entry {CA_KEY_SECRET}).",
                hint=f"If the keyring was reset or belongs to another account, restore it. "
                f"Otherwise delete {self.ca_path} and {self.desktop_cert_path}: Chroma Desktop "
                "then makes a new CA, and every agent must be paired again (run "
                "`chroma-agent pair` on each server).",
            )
        if not ca_file_exists:
            raise AuthorityError(
                f"The keyring holds the agent-link CA key ({CA_KEY_SECRET}), but its "
                f"certificate {self.ca_path} is missing.",
                hint=f"Restore {self.ca_path} from a backup of {self.config_dir}. To start over "
                f"with a new CA instead, remove the keyring entries {CA_KEY_SECRET} and "
                f"{DESKTOP_KEY_SECRET} and pair every agent again.",
            )
        ca, ca_key = self._load_ca(ca_key_pem, now)
        self._ca, self._ca_key = ca, ca_key
        if not self.desktop_cert_path.exists():
            # Re-issuing the desktop's own certificate breaks nothing: agents trust the CA.
            self._issue_desktop_certificate(now)
            return self
        desktop_key_pem = self._secrets.get_secret(DESKTOP_KEY_SECRET)
        repair = (
            f"Delete {self.desktop_cert_path}: Chroma Desktop then issues itself a new one from "
            "its CA, and paired agents keep working."
        )
        if desktop_key_pem is None:
            raise AuthorityError(
                f"The desktop's certificate {self.desktop_cert_path} exists, but its private key "
                f"is not in the keyring (entry {DESKTOP_KEY_SECRET}).",
                hint=repair,
            )
        try:
            desktop_cert = load_certificate(self.desktop_cert_path.read_bytes())
            desktop_key = load_private_key(desktop_key_pem.encode("ascii"))
        except ValueError as error:
            raise AuthorityError(
                f"The desktop's certificate or key is unreadable ({error}).", hint=repair
            ) from error
        if not same_public_key(desktop_cert, desktop_key) or not is_issued_by(desktop_cert, ca):
            raise AuthorityError(
                f"The desktop's certificate {self.desktop_cert_path} does not belong to its key "
                "in the keyring or to the CA.",
                hint=repair,
            )
        self._desktop_cert_pem = certificate_pem(desktop_cert)
        self._desktop_key_pem = desktop_key_pem.encode("ascii")
        return self

    def issue_agent_certificate(
        self, csr_pem: bytes, agent_id: str, *, now: datetime | None = None
    ) -> bytes:
        """The certificate (PEM) of a paired agent: the CSR's key, CN = `agent_id`, for TLS server
        and client authentication, five years. The CSR's own subject is ignored: the CA alone
        names what it signs, so no agent can ask for the desktop's role."""
        ca, ca_key = self._loaded_ca()
        if not 0 < len(agent_id) <= MAX_AGENT_ID_LENGTH or not agent_id.isprintable():
            raise ValidationError(
                "agent_id", agent_id, f"1 to {MAX_AGENT_ID_LENGTH} printable characters"
            )
        try:
            request = x509.load_pem_x509_csr(csr_pem)
        except ValueError as error:
            raise AuthorityError(
                f"The agent sent an unreadable certificate request ({error}).",
                hint="Update chroma-agent on the server, then pair it again.",
            ) from error
        public_key = request.public_key()
        if not request.is_signature_valid:
            raise AuthorityError(
                "The agent's certificate request is not signed by its own key.",
                hint="Pair the server again; if it happens again, check what answers at its "
                "address.",
            )
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, CURVE
        ):
            raise AuthorityError(
                "The agent's certificate request is not for an EC P-256 key.",
                hint="Update chroma-agent on the server, then pair it again.",
            )
        certificate = issue_certificate(
            subject=subject_name(agent_id, AGENT_ROLE),
            public_key=public_key,
            signer_key=ca_key,
            issuer=ca,
            days=AGENT_CERT_DAYS,
            now=now or datetime.now(UTC),
            usages=AGENT_USAGES,
        )
        return certificate_pem(certificate)

    def client_tls_options(self, expected_fingerprint: str | None) -> DesktopClientTLS:
        """The TLS options for connecting to one agent (see pki.client_tls_options)."""
        return client_tls_options(
            self.desktop_key_pem, self.desktop_cert_pem, self.ca_pem, expected_fingerprint
        )

    def pairing_tls_options(self) -> DesktopClientTLS:
        """The TLS options of a pairing connection (see pki.pairing_client_tls_options)."""
        return pairing_client_tls_options(self.desktop_key_pem, self.desktop_cert_pem, self.ca_pem)

    def forget(self) -> None:
        """Delete the CA and the desktop's certificate, files and keyring entries: the next
        load_or_create makes a new CA, and every agent must be paired again."""
        for path in (self.ca_path, self.desktop_cert_path):
            path.unlink(missing_ok=True)
        self._secrets.delete_secret(CA_KEY_SECRET)
        self._secrets.delete_secret(DESKTOP_KEY_SECRET)
        self._ca = self._ca_key = self._desktop_cert_pem = self._desktop_key_pem = None

    @property
    def ca_pem(self) -> bytes:
        ca, _ = self._loaded_ca()
        return certificate_pem(ca)

    @property
    def ca_fingerprint(self) -> str:
        return fingerprint(self.ca_pem)

    @property
    def desktop_cert_pem(self) -> bytes:
        self._loaded_ca()
        assert self._desktop_cert_pem is not None
        return self._desktop_cert_pem

    @property
    def desktop_key_pem(self) -> bytes:
        self._loaded_ca()
        assert self._desktop_key_pem is not None
        return self._desktop_key_pem

    def _loaded_ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if self._ca is None or self._ca_key is None:
            raise RuntimeError("DesktopAuthority.load_or_create() has not been called")
        return self._ca, self._ca_key

    def _load_ca(
        self, ca_key_pem: str, now: datetime
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        start_over = (
            f"Delete {self.ca_path} and {self.desktop_cert_path}, restart Chroma Desktop to make "
            "a new CA, and pair every agent again."
        )
        try:
            ca = load_certificate(self.ca_path.read_bytes())
            ca_key = load_private_key(ca_key_pem.encode("ascii"))
        except ValueError as error:
            raise AuthorityError(
                f"The agent-link CA certificate or its key is unreadable ({error}).",
                hint=start_over,
            ) from error
        if not same_public_key(ca, ca_key):
            raise AuthorityError(
                f"The CA certificate {self.ca_path} and the CA key in the keyring "
                f"({CA_KEY_SECRET}) belong to different authorities.",
                hint=f"Restore the matching {self.ca_path} from a backup, or: {start_over}",
            )
        if ca.not_valid_after_utc <= now:
            raise AuthorityError(
                f"The agent-link CA expired on {ca.not_valid_after_utc:%Y-%m-%d}.",
                hint=start_over,
            )
        return ca, ca_key

    def _create(self, now: datetime) -> None:
        short_id = secrets.token_hex(4)
        ca_key_pem = generate_key()
        ca_key = load_private_key(ca_key_pem)
        ca = issue_certificate(
            subject=x509.Name(
                [x509.NameAttribute(x509.NameOID.COMMON_NAME, f"Chroma Desktop CA {short_id}")]
            ),
            public_key=ca_key.public_key(),
            signer_key=ca_key,
            issuer=None,
            days=CA_DAYS,
            now=now,
            is_ca=True,
        )
        self.config_dir.mkdir(parents=True, exist_ok=True)
        # The certificate first, the key second: if the keyring refuses, or the process dies in
        # between, what remains is a certificate without key, which the error above explains
        # with a simple cure (delete the file), rather than a key without certificate.
        write_file_atomically(self.ca_path, certificate_pem(ca), 0o644)
        try:
            self._secrets.set_secret(CA_KEY_SECRET, ca_key_pem.decode("ascii"))
        except BaseException:
            with contextlib.suppress(OSError):
                self.ca_path.unlink()
            raise
        self._ca, self._ca_key = ca, ca_key
        self._issue_desktop_certificate(now, short_id)

    def _issue_desktop_certificate(self, now: datetime, short_id: str | None = None) -> None:
        ca, ca_key = self._loaded_ca()
        if short_id is None:
            short_id = _short_id_of(ca)
        key_pem = generate_key()
        certificate = issue_certificate(
            subject=subject_name(f"Chroma Desktop {short_id}", DESKTOP_ROLE),
            public_key=load_private_key(key_pem).public_key(),
            signer_key=ca_key,
            issuer=ca,
            days=CA_DAYS,
            now=now,
            usages=DESKTOP_USAGES,
        )
        cert_pem = certificate_pem(certificate)
        # The key first: a crash before the certificate is written leaves no desktop.crt, and the
        # next start simply issues a new one.
        self._secrets.set_secret(DESKTOP_KEY_SECRET, key_pem.decode("ascii"))
        write_file_atomically(self.desktop_cert_path, cert_pem, 0o644)
        self._desktop_cert_pem, self._desktop_key_pem = cert_pem, key_pem


def _short_id_of(ca: x509.Certificate) -> str:
    names = ca.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    return common_name.rsplit(" ", 1)[-1]
