"""Fixtures for the storage plugins: a simulated cluster of eight servers, its hosts in the
database, and pushing their agents' reports through the plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import Clock

from agentlink.simulator.cluster import SimulatedCluster
from core import inventory
from core.database import Database
from plugins.registry import PluginRegistry
from plugins.runner import PluginOutcome, apply_agent_report


@dataclass
class Site:
    database: Database
    cluster: SimulatedCluster
    registry: PluginRegistry
    hosts: dict[str, int] = field(default_factory=dict)

    def devices(self, name: str) -> dict[str, Any]:
        return {"kind": "devices", "devices": self.cluster.server(name).devices()}

    def push(self, name: str, kind: str, body: Any) -> PluginOutcome:
        with self.database.session(actor=f"agent:{name}") as session:
            return apply_agent_report(session, self.hosts[name], kind, body, registry=self.registry)

    def push_devices(self, names: list[str] | None = None) -> list[PluginOutcome]:
        return [self.push(n, "devices", self.devices(n)) for n in names or list(self.hosts)]


def make_site(database: Database, order: list[str] | None = None) -> Site:
    cluster = SimulatedCluster.create(clock=Clock(), server_count=8)
    site = Site(database, cluster, PluginRegistry.discover(installed=[]))
    with database.session() as session:
        for name in order or sorted(cluster.servers):
            site.hosts[name] = inventory.add_host(session, name).id
    return site


@pytest.fixture
def site(database: Database) -> Site:
    return make_site(database)


@pytest.fixture
def sample_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Installs the distribution "acme-storage" whose entry points name the sample plugins
    (one of which cannot be imported), as pip would: a dist-info on sys.path."""
    site_dir = tmp_path / "site-packages"
    info = site_dir / "acme_storage-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-storage\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(
        "[chroma.storage_plugins]\n"
        "acme = tests.plugins.acme_storage:AcmePlugin\n"
        "acme_crashing = tests.plugins.acme_storage:CrashingPlugin\n"
        "acme_legacy = acme_storage_legacy.plugin:LegacyPlugin\n"
        "acme_bad_id = tests.plugins.acme_storage:BadIdentifierPlugin\n"
        "linux = tests.plugins.acme_storage:AcmePlugin\n"
    )
    monkeypatch.syspath_prepend(str(site_dir))
    return site_dir
