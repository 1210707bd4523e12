"""Plugins found through the entry-point group: a third-party plugin's resources appear; one
that cannot be imported and one that raises are isolated and named, and the others' results
are still applied."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from core.models import Volume
from plugins.registry import FailureStage, LoadedPlugin, PluginRegistry
from plugins.store import missing_devices, resource_records
from tests.plugins.conftest import Site


def test_an_installed_plugin_is_discovered_and_its_resources_appear(
    site: Site, sample_distribution: Path
):
    site.registry = PluginRegistry.discover()
    assert {"linux", "linux_network", "acme", "acme_crashing"} <= set(site.registry.names())
    acme = next(p for p in site.registry.plugins if p.name == "acme")
    assert acme.origin == "acme-storage 1.2"

    outcome = site.push("sim-oss1", "devices", site.devices("sim-oss1"))
    assert set(outcome.plugins_run) == {"linux", "acme"}
    with site.database.session() as session:
        records = resource_records(session, "acme")
    luns = [r for r in records if r.resource_class == "AcmeLun"]
    controller = next(r for r in records if r.resource_class == "AcmeController")
    assert len(luns) == 4
    assert all(lun.parent_ids == (controller.id,) for lun in luns)
    assert luns[0].attributes["raid_level"] == "RAID6"
    assert [(s.plugin, s.statistic, s.units, s.value) for s in outcome.samples][:1] == [
        ("acme", "temperature", "°C", 38.5)
    ]


def test_failing_plugins_are_isolated_and_reported_and_the_others_applied(
    site: Site, sample_distribution: Path
):
    site.registry = PluginRegistry.discover()
    outcome = site.push("sim-oss1", "devices", site.devices("sim-oss1"))
    failures = {f.plugin: f for f in outcome.failures}
    assert failures["acme_legacy"].stage == FailureStage.LOAD
    assert "No module named 'acme_storage_legacy'" in failures["acme_legacy"].message
    assert "acme-storage 1.2" in failures["acme_legacy"].message
    assert failures["acme_bad_id"].stage == FailureStage.LOAD
    assert "names wwn, which is not an attribute" in failures["acme_bad_id"].message
    assert failures["linux"].stage == FailureStage.LOAD  # a third party may not take "linux"
    assert "already has that name" in failures["linux"].message
    crash = failures["acme_crashing"]
    assert crash.stage == FailureStage.SCAN
    assert "sim-oss1" in crash.message and "refused the login" in crash.message
    # The linux plugin and the working third-party plugin were applied all the same.
    with site.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Volume)) == 4
        assert len(resource_records(session, "acme")) == 5
        assert resource_records(session, "acme_crashing") == []


def test_a_plugin_failing_later_keeps_what_it_reported_before(site: Site):
    site.push("sim-oss1", "devices", site.devices("sim-oss1"))
    linux = next(p for p in site.registry.plugins if p.name == "linux")

    class Exploding(linux.plugin_class):  # type: ignore[name-defined,misc]
        def scan(self, report):
            raise KeyError("sda")

    others = [p for p in site.registry.plugins if p.name != "linux"]
    site.registry = PluginRegistry([*others, LoadedPlugin("linux", Exploding, "builtin")])
    report = site.devices("sim-oss1")
    report["devices"] = []
    outcome = site.push("sim-oss1", "devices", report)
    assert [(f.plugin, f.stage) for f in outcome.failures] == [("linux", FailureStage.SCAN)]
    # An empty report from a broken plugin must not make every device look missing.
    with site.database.session() as session:
        assert all(r.missing_since is None for r in resource_records(session, "linux"))
        assert missing_devices(session) == []
