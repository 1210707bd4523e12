"""The API's token and certificate: made once and kept (a CLI started later pins the same
certificate), the private key and token only in the keyring, and a certificate that no longer
matches its key replaced rather than served."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chroma_desktop.api.credentials import (
    CERT_KEY_KEY,
    TOKEN_KEY,
    ApiCredentialsError,
    cert_path,
    load_client_credentials,
    load_or_create_server_credentials,
)
from core.fakes import MemorySecretStore


def test_credentials_are_made_once_and_the_client_reads_the_same(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    first = load_or_create_server_credentials(secrets, tmp_path)
    again = load_or_create_server_credentials(secrets, tmp_path)
    assert (again.token, again.fingerprint) == (first.token, first.fingerprint)
    client = load_client_credentials(secrets, tmp_path)
    assert (client.token, client.fingerprint) == (first.token, first.fingerprint)
    assert first.accepts(first.token) and not first.accepts(first.token + "x")
    written = cert_path(tmp_path)
    assert b"PRIVATE KEY" not in written.read_bytes()
    assert not written.stat().st_mode & stat.S_IWOTH
    assert secrets.get_secret(CERT_KEY_KEY) is not None and secrets.get_secret(TOKEN_KEY)


def test_a_certificate_that_does_not_match_the_key_is_replaced(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    first = load_or_create_server_credentials(secrets, tmp_path)
    secrets.delete_secret(CERT_KEY_KEY)  # a keyring reset: the key is gone, the file stays
    second = load_or_create_server_credentials(secrets, tmp_path)
    assert second.fingerprint != first.fingerprint
    assert second.token == first.token
    assert load_client_credentials(secrets, tmp_path).fingerprint == second.fingerprint


def test_a_client_without_credentials_is_told_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ApiCredentialsError, match="Start Chroma Desktop"):
        load_client_credentials(MemorySecretStore(), tmp_path)
