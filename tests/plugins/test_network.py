"""NIDs from the lustre report land on the host, normalised; interfaces from the network
report become the host's interfaces with byte counters."""

from __future__ import annotations

from core.models import Host
from plugins.store import ChangeKind
from tests.plugins.conftest import Site


def lustre(lnet: str, nids: list[str]) -> dict[str, object]:
    return {
        "kind": "lustre",
        "state": {"lnet": lnet, "nids": nids, "mounts": [], "boot_time": 1.7e9},
    }


def nids_of(site: Site, name: str) -> list[str]:
    with site.database.session() as session:
        host = session.get(Host, site.hosts[name])
        assert host is not None and host.lnet is not None
        return sorted(n.nid_string for n in host.lnet.nids)


def test_nids_from_the_lustre_report_land_on_the_host(site: Site):
    outcome = site.push("sim-oss1", "lustre", lustre("up", ["10.0.0.3@tcp", "0@lo"]))
    assert nids_of(site, "sim-oss1") == ["10.0.0.3@tcp0"]
    assert ChangeKind.NID_ADDED in [c.kind for c in outcome.changes]
    # Unchanged: nothing changes. LNet down: the NIDs we know are kept.
    assert not site.push("sim-oss1", "lustre", lustre("up", ["10.0.0.3@tcp0"])).changed
    assert not site.push("sim-oss1", "lustre", lustre("unloaded", [])).changed
    assert nids_of(site, "sim-oss1") == ["10.0.0.3@tcp0"]
    # A NID that moved is replaced.
    site.push("sim-oss1", "lustre", lustre("up", ["192.168.5.3@o2ib1"]))
    assert nids_of(site, "sim-oss1") == ["192.168.5.3@o2ib1"]


def test_the_simulators_nids_once_lnet_is_up(site: Site):
    state = site.cluster.server("sim-oss2").lustre_state()
    state = {**state, "lnet": "up", "nids": ["10.0.0.4@tcp"]}
    site.push("sim-oss2", "lustre", {"kind": "lustre", "state": state})
    assert nids_of(site, "sim-oss2") == ["10.0.0.4@tcp0"]


def test_a_bad_nid_fails_the_network_plugin_and_changes_nothing(site: Site):
    outcome = site.push("sim-oss1", "lustre", lustre("up", ["not a nid"]))
    assert [f.plugin for f in outcome.failures] == ["linux_network"]
    assert "a Lustre NID looks like" in outcome.failures[0].message
    assert nids_of(site, "sim-oss1") == []


def test_interfaces_and_their_counters(site: Site):
    body = {
        "kind": "network",
        "interfaces": [
            {"name": "eth0", "rx_bytes": 10, "tx_bytes": 20, "inet4_address": "10.0.0.3"},
            {"name": "ib0", "rx_bytes": 5, "tx_bytes": 6, "network_type": "o2ib"},
        ],
    }
    outcome = site.push("sim-oss1", "network", body)
    assert sorted((s.resource, s.statistic, s.value) for s in outcome.samples) == [
        ("Network interface eth0", "rx_bytes", 10.0),
        ("Network interface eth0", "tx_bytes", 20.0),
        ("Network interface ib0", "rx_bytes", 5.0),
        ("Network interface ib0", "tx_bytes", 6.0),
    ]
    site.push("sim-oss1", "lustre", lustre("up", ["10.0.0.3@tcp"]))
    with site.database.session() as session:
        host = session.get(Host, site.hosts["sim-oss1"])
        assert host is not None and host.lnet is not None
        assert {(i.name, i.network_type, i.is_up) for i in host.interfaces} == {
            ("eth0", "tcp", True),
            ("ib0", "o2ib", True),
        }
        assert host.lnet.nids[0].interface is not None
        assert host.lnet.nids[0].interface.name == "eth0"
