"""The secret store of the desktop: credentials and keys in the OS keyring, nowhere else.

Layer: agentlink (implements core.ports.SecretStore). Thread: any; keyring calls block briefly,
so callers on the GUI thread go through the database worker or the reactor thread. When the
session has no keyring (a headless machine without SecretService), every call raises
SecretStoreUnavailableError saying how to get one, instead of falling back to a plaintext file.
"""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors

from core.errors import SecretStoreUnavailableError

SERVICE = "chroma-desktop"
_HOW_TO_FIX = (
    "Start a desktop keyring (GNOME Keyring or KWallet, which provide SecretService), or on a "
    "headless machine select another keyring backend with PYTHON_KEYRING_BACKEND."
)


class KeyringSecretStore:
    def __init__(
        self, backend: keyring.backend.KeyringBackend | None = None, service: str = SERVICE
    ) -> None:
        self._backend = backend
        self._service = service

    def _keyring(self) -> keyring.backend.KeyringBackend:
        backend = self._backend or keyring.get_keyring()
        empty_chain = (
            isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends
        )
        if isinstance(backend, keyring.backends.fail.Keyring) or empty_chain:
            raise SecretStoreUnavailableError(
                "No keyring is available to keep secrets in.", hint=_HOW_TO_FIX
            )
        return backend

    def get_secret(self, key: str) -> str | None:
        try:
            secret: str | None = self._keyring().get_password(self._service, key)
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailableError(
                f"The keyring could not be read: {error}.", hint=_HOW_TO_FIX
            ) from error
        return secret

    def set_secret(self, key: str, secret: str) -> None:
        try:
            self._keyring().set_password(self._service, key, secret)
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailableError(
                f"The keyring refused to store a secret: {error}.", hint=_HOW_TO_FIX
            ) from error

    def delete_secret(self, key: str) -> None:
        try:
            self._keyring().delete_password(self._service, key)
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailableError(
                f"The keyring could not delete a secret: {error}.", hint=_HOW_TO_FIX
            ) from error
