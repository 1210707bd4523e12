"""A keyring for child processes of tests, which have no desktop keyring: a JSON file in
CHROMA_HOME, chosen with PYTHON_KEYRING_BACKEND=tests.cli.file_keyring.FileKeyring. Test use
only: it keeps secrets in plain text, which the program itself never does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ["CHROMA_HOME"]) / "test-keyring.json"

    def _load(self) -> dict[str, str]:
        try:
            loaded: dict[str, str] = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        return loaded

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = self._load()
        secrets[f"{service}/{username}"] = password
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(secrets))

    def delete_password(self, service: str, username: str) -> None:
        secrets = self._load()
        if secrets.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self._path.write_text(json.dumps(secrets))
