"""Shared fixtures: an isolated CHROMA_HOME per test, an in-memory keyring, and databases on
SQLite and on a throwaway PostgreSQL server."""

from __future__ import annotations

import os

# Qt must see this before it loads anywhere in the test process.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest

from agentlink.runtime import ReactorThread
from core.database import Database, open_database
from tests.postgres import ThrowawayPostgres


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in this process only: headless machines have no real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.passwords:
            raise keyring.errors.PasswordDeleteError(username)
        del self.passwords[(service, username)]


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def chroma_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CHROMA_HOME and no database URL from the environment."""
    home = tmp_path / "chroma-home"
    monkeypatch.setenv("CHROMA_HOME", str(home))
    monkeypatch.delenv("CHROMA_DATABASE_URL", raising=False)
    return home


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_postgres_template(postgres_server: ThrowawayPostgres) -> str:
    """A database at the newest schema, copied for each test (faster than migrating each)."""
    name = postgres_server.create_database()
    open_database(postgres_server.url(name)).close()
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _new_database(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, template: str | None
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'chroma.db'}"
        return
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    if template is not None:
        template = request.getfixturevalue(template)
    name = server.create_database(template or "template0")
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    yield from _new_database(request, backend, tmp_path, None)


@pytest.fixture
def database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database at the newest schema on each backend."""
    for url in _new_database(request, backend, tmp_path, "migrated_postgres_template"):
        opened = open_database(url)
        yield opened
        opened.close()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests whose subject does not depend on the backend."""
    opened = open_database(f"sqlite:///{tmp_path / 'chroma.db'}")
    yield opened
    opened.close()


_REACTOR = ReactorThread()


@pytest.fixture(scope="session")
def reactor_thread() -> ReactorThread:
    """The test session's one reactor thread: a reactor cannot be restarted, so it starts once
    and ends with the test process."""
    _REACTOR.start()
    return _REACTOR
