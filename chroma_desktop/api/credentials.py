"""What a client needs to reach the local API safely: its bearer token and the server's TLS
certificate, which the client pins.

Layer: chroma_desktop.api (no Qt). Thread: any (keyring calls block briefly; the manager calls
this once at start). The token and the certificate's private key live in the keyring (the
manager's SecretStore), never in a file; the certificate itself, public, is kept in
CONFIG_DIR/api-cert.pem so that a client can pin it by its fingerprint. Both are made on first
use and kept: a CLI started later finds the same ones.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from agentlink.daemon.pki import (
    SELF_SIGNED_DAYS,
    fingerprint,
    generate_key,
    load_certificate,
    load_private_key,
    same_public_key,
    self_signed,
    write_file_atomically,
)
from core.errors import ChromaError
from core.ports import SecretStore

TOKEN_KEY = "api-token"  # noqa: S105 (the keyring entry's name, not a secret)
CERT_KEY_KEY = "api-tls-key"
CERT_FILE = "api-cert.pem"
CERT_NAME = "chroma-desktop-api"


class ApiCredentialsError(ChromaError):
    """The API's token or certificate cannot be found or read."""


@dataclass(frozen=True)
class ServerCredentials:
    """What the server holds: the token it accepts, its key and certificate."""

    token: str
    key_pem: bytes
    cert_pem: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert_pem)

    def accepts(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.token.encode())


@dataclass(frozen=True)
class ClientCredentials:
    """What a client needs: the token to send and the certificate fingerprint to expect."""

    token: str
    fingerprint: str


def cert_path(config_dir: Path) -> Path:
    return config_dir / CERT_FILE


def load_or_create_server_credentials(
    secrets_store: SecretStore, config_dir: Path
) -> ServerCredentials:
    """The API's token and certificate, made and stored on first use. A certificate that does
    not match the key in the keyring (a keyring reset, a copied config) is replaced."""
    token = secrets_store.get_secret(TOKEN_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        secrets_store.set_secret(TOKEN_KEY, token)
    key_text = secrets_store.get_secret(CERT_KEY_KEY)
    path = cert_path(config_dir)
    cert_pem = _read_matching_cert(path, key_text)
    if key_text is None or cert_pem is None:
        key_pem = generate_key()
        secrets_store.set_secret(CERT_KEY_KEY, key_pem.decode())
        cert_pem = self_signed(key_pem, CERT_NAME, SELF_SIGNED_DAYS)
        config_dir.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, cert_pem, 0o644)
    else:
        key_pem = key_text.encode()
    return ServerCredentials(token, key_pem, cert_pem)


def _read_matching_cert(path: Path, key_text: str | None) -> bytes | None:
    if key_text is None:
        return None
    try:
        cert_pem = path.read_bytes()
        matches = same_public_key(load_certificate(cert_pem), load_private_key(key_text.encode()))
    except (OSError, ValueError):
        return None
    return cert_pem if matches else None


def load_client_credentials(secrets_store: SecretStore, config_dir: Path) -> ClientCredentials:
    """The token from the keyring and the fingerprint of the certificate in the config
    directory, as the manager that serves the API stored them."""
    token = secrets_store.get_secret(TOKEN_KEY)
    try:
        cert_pem = cert_path(config_dir).read_bytes()
        pinned = fingerprint(cert_pem)
    except (OSError, ValueError) as error:
        raise ApiCredentialsError(
            f"The API certificate {cert_path(config_dir)} cannot be read ({error}).",
            hint="Start Chroma Desktop (or `chroma-desktop --headless`) once with this "
            "CHROMA_HOME to create it.",
        ) from error
    if not token:
        raise ApiCredentialsError(
            "The keyring holds no API token for this Chroma Desktop.",
            hint="Run `chroma` as the user who runs Chroma Desktop, with the same keyring.",
        )
    return ClientCredentials(token, pinned)
