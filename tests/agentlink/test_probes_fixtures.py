"""The real agent reading the 2013 IML fixtures: /proc trees of Lustre 1.8 and 2.0 servers and
the device-mapper outputs of real test clusters. Every expected value below was read off the
fixture files by hand (cat'ed and checked), not produced by the code under test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentlink.daemon.cli import main
from agentlink.daemon.probes.devices import classify_dm_maps, multipath_members, split_dm_name
from agentlink.daemon.probes.parsers import parse_dmsetup_table
from agentlink.daemon.probes.report import full_report, stat_records
from agentlink.daemon.probes.source import NoCommands, Tree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iml-agent-2013"
VERSIONS = FIXTURES / "lustre_versions"
LINUX = FIXTURES / "device_plugins" / "linux"


def report_of(server: str) -> dict[str, Any]:
    tree = Tree(VERSIONS / server)
    return full_report(tree, NoCommands(), "fixture", now=1_400_000_000.0)


def by_label(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["label"]: target for target in report["lustre"]["targets"]}


def test_lustre_1_8_mds_and_mgs_on_one_server() -> None:
    report = report_of("1.8.7.80/mds_mgs")
    lustre = report["lustre"]
    assert lustre["version"]["lustre"] == "1.8.7.80"
    assert lustre["health"]["healthy"] is True
    assert lustre["lnet"]["state"] == "up"
    assert lustre["lnet"]["nids"] == ["10.10.4.208@tcp"]
    targets = by_label(report)
    assert set(targets) == {"MGS", "lustre-MDT0000"}, "1.8's `mdt MDS` is a service, not a target"
    mdt = targets["lustre-MDT0000"]
    assert (mdt["kind"], mdt["fsname"], mdt["index"], mdt["module"]) == ("MDT", "lustre", 0, "mds")
    assert (mdt["device"], mdt["backend"]) == ("/dev/loop1", "ldiskfs")
    assert mdt["recovery"] == {"status": "INACTIVE"}
    assert targets["MGS"]["device"] == "/dev/loop0"
    numbers = report["stats"]["targets"]["lustre-MDT0000"]
    assert (numbers["kbytestotal"], numbers["kbytesfree"]) == (47984, 43784)
    assert (numbers["filestotal"], numbers["filesfree"], numbers["num_exports"]) == (
        32000,
        31976,
        2,
    )
    assert numbers["stats"]["counters"]["open"] == {"count": 2, "unit": "reqs"}
    node = report["stats"]["node"]
    # cpu  4591 10546 6155 9610495 36316 1056 735 0: user+nice, system+irq+softirq, total.
    assert node["cpu_user"] == 4591 + 10546
    assert node["cpu_system"] == 6155 + 1056 + 735
    assert node["cpu_total"] == 4591 + 10546 + 6155 + 9610495 + 36316 + 1056 + 735
    assert node["memory"]["MemTotal"] == 2058596


def test_lustre_2_0_oss_with_four_osts() -> None:
    report = report_of("2.0.66/oss")
    assert report["lustre"]["version"]["lustre"] == "2.0.66"
    targets = by_label(report)
    assert sorted(targets) == [f"lustre-OST000{i}" for i in range(4)]
    ost0 = targets["lustre-OST0000"]
    assert (ost0["device"], ost0["index"], ost0["uuid"]) == ("/dev/loop0", 0, "lustre-OST0000_UUID")
    assert ost0["recovery"]["status"] == "COMPLETE"
    assert ost0["recovery"]["completed_clients"] == {"count": 1, "total": 2}
    assert ost0["recovery"]["last_transno"] == 65830
    numbers = report["stats"]["targets"]["lustre-OST0000"]
    assert numbers["kbytesfree"] == 1979620
    assert numbers["num_exports"] == 3
    assert numbers["exports"] == ["10.141.0.1@tcp", "10.141.0.3@tcp"]
    assert numbers["stats"]["counters"]["write_bytes"] == {
        "count": 15203,
        "unit": "bytes",
        "min": 4096,
        "max": 1048576,
        "sum": 15311790080,
    }
    brw = numbers["brw_stats"]
    assert brw["pages"]["read"]["256"] == 97 and brw["pages"]["write"]["256"] == 14398
    assert brw["discont_pages"]["write"]["0"] == 13986
    assert set(brw) >= {"pages", "discont_pages", "discont_blocks", "dio_frags", "io_time"}
    assert report["stats"]["targets"]["lustre-OST0001"]["kbytestotal"] == 2015824
    assert report["stats"]["lnet"]["send_count"] == 547302
    assert report["stats"]["node"]["cpu_total"] == 935446  # 19879+2+64045+740513+92633+1817+16557
    records = {
        (r["subject"], r["metric"]): r["value"]
        for r in stat_records(report["lustre"], report["stats"], 5.0)
    }
    assert records[("lustre-OST0000", "write_bytes")] == 15311790080.0
    assert records[("lustre-OST0000", "statfs")] == 14449.0
    assert records[("lnet", "recv_count")] == 547181.0
    assert records[("node", "mem_MemTotal")] == 2055444.0


def test_lustre_2_0_mds_reads_capacity_from_the_osd() -> None:
    report = report_of("2.0.66/mds_mgs")
    targets = by_label(report)
    assert set(targets) == {"MGS", "lustre-MDT0000"}, "mdd_obd-… is no target"
    assert targets["lustre-MDT0000"]["module"] == "mdt"
    numbers = report["stats"]["targets"]["lustre-MDT0000"]
    assert (numbers["kbytesavail"], numbers["kbytesfree"], numbers["kbytestotal"]) == (
        676548,
        727748,
        767824,
    )
    assert numbers["md_stats"]["counters"]["open"]["count"] == 52028
    assert numbers["exports"] == ["10.141.0.3@tcp"]
    assert report["stats"]["targets"]["MGS"]["num_exports"] == 4


def test_an_mds_copy_without_pool_files_names_no_pools_for_its_filesystem() -> None:
    """The 2013 copies hold no lov `pools` directory (git keeps no empty directory): the
    filesystem the MGS serves is left out of the pools, not reported with none."""
    report = report_of("2.0.66/mds_mgs")
    assert report["pushes"]["lustre"]["state"]["pools"] == {}
    problems = {(p["path"], p["reason"]) for p in report["problems"]}
    assert (
        "/proc/fs/lustre/lov/lustre-MDT0000-mdtlov/pools",
        "missing, so lustre's OST pools cannot be read; they are left out",
    ) in problems


def test_lustre_2_0_client_has_no_targets_and_one_mount() -> None:
    report = report_of("2.0.66/client")
    assert report["lustre"]["targets"] == []
    assert report["lustre"]["clients"] == [
        {"fsname": "lustre", "source": None, "mount_point": None}
    ]


def test_a_fixture_without_proc_mounts_says_so_and_leaves_the_targets_out_of_the_state() -> None:
    report = report_of("2.0.66/oss")
    problems = {(p["path"], p["reason"]) for p in report["problems"]}
    assert ("/proc/mounts", "missing") in problems
    assert ("/sys/block", "missing: no block devices can be listed") in problems
    assert report["pushes"]["lustre"]["state"]["mounts"] == []
    assert report["pushes"]["lustre"]["state"]["nids"] == ["10.141.0.2@tcp"]


def test_chroma_agent_collect_prints_the_report_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--root", str(VERSIONS / "2.0.66" / "oss"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lustre"]["version"]["lustre"] == "2.0.66"
    assert len(printed["lustre"]["targets"]) == 4
    assert printed["stats"]["targets"]["lustre-OST0002"]["num_exports"] >= 0
    assert any(p["path"] == "/proc/mounts" for p in printed["problems"])


def test_chroma_agent_collect_summarises_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--root", str(VERSIONS / "1.8.7.80" / "mds_mgs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Lustre 1.8.7.80; LNet up 10.10.4.208@tcp"
    assert lines[3].split() == [
        "lustre-MDT0000",
        "MDT",
        "on",
        "/dev/loop1",
        "at",
        "?",
        "recovery",
        "INACTIVE",
    ]
    assert "problem: /proc/mounts: missing" in lines


def test_chroma_agent_collect_refuses_a_directory_that_is_no_server_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "--root", str(tmp_path), "--json"]) == 1
    assert "holds neither proc/ nor sys/" in capsys.readouterr().err


# --- device-mapper: the IML test data ------------------------------------------------------------


def _devices_fixture(name: str) -> dict[str, Any]:
    return json.loads((LINUX / f"devices_{name}.txt").read_text())


@pytest.mark.parametrize("name", ["1", "HYD-1385", "HYD-1390", "NTAP-12-min"])
def test_multipath_maps_and_their_paths_match_iml(name: str) -> None:
    devices = _devices_fixture(name)
    maps = parse_dmsetup_table((LINUX / f"dmsetup_{name}.txt").read_text())
    mapper = {
        path.removeprefix("/dev/mapper/"): major_minor
        for path, major_minor in devices["node_block_devices"].items()
        if path.startswith("/dev/mapper/")
    }
    found = multipath_members(maps, mapper, devices["block_device_nodes"])
    expected = json.loads((LINUX / f"mpaths_{name}.txt").read_text())
    assert found == expected


def test_device_mapper_maps_are_told_apart() -> None:
    devices = _devices_fixture("1")
    maps = parse_dmsetup_table((LINUX / "dmsetup_1.txt").read_text())
    kinds = classify_dm_maps(maps, set(devices["vgs"]))
    assert kinds["mpath10"] == kinds["mpath11"] == "multipath"
    assert kinds["whamvg-OST4"] == kinds["VolGroup00-LogVol00"] == "lvm"
    # Each LVM map names a volume the fixture's `lvs` lists, in the group it names.
    for entry in maps:
        if kinds[entry["name"]] == "lvm":
            vg, lv = split_dm_name(entry["name"]) or ("", "")
            assert lv in devices["lvs"][vg]
    whamvg_ost4 = next(m for m in maps if m["name"] == "whamvg-OST4")
    assert whamvg_ost4["devices"] == ["8:0", "8:16"], "an LV spanning two PVs uses both"
    partitions = classify_dm_maps(
        parse_dmsetup_table((LINUX / "dmsetup_HYD-1385.txt").read_text()), set()
    )
    assert partitions == {
        "350014ee2b0a45fec": "multipath",
        "350014ee2b0a45fecp1": "partition",
        "350014ee2b0a45fecp2": "partition",
    }


def test_doubled_hyphens_in_lvm_names_are_decoded() -> None:
    assert split_dm_name("my--vg-lv--1") == ("my-vg", "lv-1")
    assert split_dm_name("VolGroup00-LogVol00") == ("VolGroup00", "LogVol00")
    assert split_dm_name("mpatha") is None
