"""Fixtures of the API tests: a headless manager (the one `chroma-desktop --headless` runs) on a
database holding the small test cluster and its filesystem, and a client of its API holding the
token and pinned certificate as `chroma` would read them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agentlink.runtime import ReactorThread
from agentlink.secrets import KeyringSecretStore
from chroma_desktop.api.client import ApiClient
from chroma_desktop.api.credentials import load_client_credentials
from chroma_desktop.api.service import LocalManager
from core.database import open_database
from core.paths import app_paths
from tests.core.cluster import build_small_filesystem


@dataclass
class Served:
    local: LocalManager
    client: ApiClient


@pytest.fixture
def served(reactor_thread: ReactorThread) -> Iterator[Served]:
    paths = app_paths().ensure()
    database = open_database()
    with database.session() as session:
        build_small_filesystem(session)
    database.close()
    local = LocalManager.open(headless=True, reactor_thread=reactor_thread)
    credentials = load_client_credentials(KeyringSecretStore(), paths.config_dir)
    running = local.api.running
    assert running is not None
    yield Served(local, ApiClient(running.port, credentials.token, credentials.fingerprint))
    local.close()
