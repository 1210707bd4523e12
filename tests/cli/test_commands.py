"""`chroma`'s other commands against a manager on the small test cluster (four servers with no
agents, fs1 on their volumes): listings and shows in tables and JSON, conf params, OST pools,
logs, statistics and archives, and the exit status and message of each refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import Served
from tests.cli.conftest import Ran

Chroma = Callable[..., Ran]


def test_listings_print_tables_for_people_and_json_for_scripts(served: Served, chroma: Chroma):
    table = chroma("target-list", "--filesystem", "fs1", "--kind", "OST")
    assert table.status == 0
    header, *rows = table.out.splitlines()
    assert header.split()[:4] == ["id", "name", "kind", "state"]
    assert [row.split()[1] for row in rows] == ["fs1-OST0000", "fs1-OST0001"]
    listed = chroma("server-list", "--json").json()
    assert [host["label"] for host in listed] == ["mds1.lab", "mds2.lab", "oss1.lab", "oss2.lab"]
    volumes = chroma("volume-list", "--host", "oss1.lab", "--json").json()
    assert {v["name"] for v in volumes} >= {"ost0", "ost1", "spare"}
    shown = chroma("filesystem-show", "fs1")
    assert shown.status == 0 and "fs1-MDT0000" in shown.out
    paged = chroma("target-list", "--limit", "1", "--order-by=-name")
    assert paged.out.splitlines()[1].split()[1] == "fs1-OST0001"
    assert paged.err == "(1 of 4 shown)\n"


def test_refusals_exit_1_with_the_reason_and_no_traceback(served: Served, chroma: Chroma):
    missing = chroma("target-start", "fs9-OST0000", "--yes")
    assert missing.status == 1
    assert missing.err.startswith("chroma: There is no target named 'fs9-OST0000'.")
    bad_order = chroma("target-list", "--order-by", "colour")
    assert bad_order.status == 1
    assert "order_by 'colour' is not valid: one of id, name, kind, state" in bad_order.err
    unknown_command = chroma("command-show", "999")
    assert (unknown_command.status, unknown_command.err) == (
        1,
        "chroma: There is no command with id 999.\n",
    )
    bad_name = chroma(
        "filesystem-create", "no way!", "--mgt", "spare", "--mdt", "both", "--ost", "ost2"
    )
    assert bad_name.status == 1 and "name 'no way!' is not valid" in bad_name.err
    for ran in (missing, bad_order, unknown_command, bad_name):
        assert "Traceback" not in ran.err


def test_a_dry_run_prints_the_plan_and_changes_nothing(served: Served, chroma: Chroma):
    planned = chroma("filesystem-start", "fs1", "--dry-run")
    assert planned.status == 0
    assert planned.out.startswith("Plan: Start fs1 (")
    assert "$ mkfs.lustre --ost --fsname=fs1 --index=1" in planned.out
    assert chroma("command-list", "--json").json() == []
    second = chroma(
        "filesystem-create", "fs2", "--mgs", "MGS", "--mdt", "ost2", "--ost", "spare", "--dry-run"
    )
    assert second.status == 0, second.err
    assert second.out.startswith("Plan: Create filesystem fs2 (")
    assert "Format fs2-OST0000" in second.out and "Format MGS" in second.out
    assert [fs["name"] for fs in chroma("filesystem-list", "--json").json()] == ["fs1"]
    not_mgs = chroma(
        "filesystem-create", "fs2", "--mgs", "fs1-OST0000", "--mdt", "ost2", "--ost", "spare"
    )
    assert not_mgs.status == 1 and "fs1-OST0000 is not an MGT" in not_mgs.err
    as_json = chroma("target-stop", "fs1-OST0000", "--dry-run", "--json").json()
    assert as_json["message"] == "Stop fs1-OST0000"
    assert "Format fs1-OST0000" in [job["description"] for job in as_json["jobs"]]
    assert as_json["confirmations"] == ["Format this volume? Anything stored on it is destroyed."]


def test_conf_params_are_checked_saved_and_read_back(served: Served, chroma: Chroma):
    refused = chroma("conf-param", "set", "fs1", "llite.max_cached_mb=lots")
    assert refused.status == 1 and "llite.max_cached_mb" in refused.err
    saved = chroma("conf-param", "set", "fs1", "llite.max_cached_mb=512")
    assert saved.status == 0, saved.err
    assert "applied when the MGS of fs1 next runs" in saved.out  # it is not running here
    got = chroma("conf-param", "get", "fs1")
    assert got.out == "llite.max_cached_mb=512 (pending: not yet applied)\n"
    on_ost = chroma("conf-param", "set", "fs1-OST0000", "osc.active=0")
    assert on_ost.status == 0, on_ost.err
    assert chroma("conf-param", "get", "fs1-OST0000").out.startswith("osc.active=0 (pending")
    every = chroma("conf-param", "get", "fs1-OST0001", "--json").json()
    assert "osc.active" in {row["key"] for row in every}  # the whole catalogue, as the editor
    assert all(row["value"] is None for row in every)
    wrong = chroma("conf-param", "set", "fs1-MDT0000", "osc.active=0")
    assert wrong.status == 1 and "give one of" in wrong.err


def test_ost_pools_need_a_running_mgs_and_say_how_to_start_it(served: Served, chroma: Chroma):
    # Pools live on the MGS (see tests/cli/test_pools.py for them made on simulated servers);
    # fs1's MGS here has never run.
    refused = chroma("pool-create", "fs1", "fast", "fs1-OST0000")
    assert refused.status == 1
    assert "The MGS of fs1 is unformatted" in refused.err
    assert "chroma target-start MGS" in refused.err
    planned = chroma("pool-create", "fs1", "fast", "--dry-run")
    assert planned.status == 1 and "chroma target-start MGS" in planned.err
    missing = chroma("pool-add", "fs1", "fast", "fs1-OST0001")
    assert missing.status == 1 and "fs1 has no pool named 'fast'" in missing.err
    assert chroma("pool-list", "--json").json() == []
    assert chroma("command-list", "--json").json() == [], "nothing was started"


def test_logs_statistics_and_an_archive_of_the_history(
    served: Served, chroma: Chroma, tmp_path: Path
):
    assert chroma("log-search", "LustreError").out == "No log lines found.\n"
    bad = chroma("log-search", "--severity", "dire")
    assert bad.status == 1 and "severity 'dire' is not valid: one of emerg" in bad.err
    assert chroma("stats").out.startswith("all ")
    unknown = chroma("stats", "server:oss9.lab")
    assert unknown.status == 1 and "There is no history of 'server:oss9.lab'" in unknown.err

    archive = tmp_path / "site.chroma-archive"
    exported = chroma("archive-export", str(archive), "--since", "2020-01-01T00:00:00+00:00")
    assert exported.status == 0, exported.err
    assert exported.out.startswith("Exported ") and archive.is_file()
    again = chroma("archive-export", str(archive), "--since", "2020-01-01T00:00:00+00:00")
    assert again.status == 1 and "never replaces an existing file" in again.err
    opened = chroma("archive-open", str(archive), "--json").json()
    assert opened["file"] == str(archive) and opened["range"].startswith("2020-01-01")
    damaged = tmp_path / "damaged.chroma-archive"
    damaged.write_bytes(archive.read_bytes()[:2000])
    refused = chroma("archive-open", str(damaged))
    assert refused.status == 1 and "Traceback" not in refused.err


def test_server_and_lnet_changes_show_their_plans_and_refusals_say_why(
    served: Served, chroma: Chroma
):
    removal = chroma("server-remove", "oss2.lab", "--dry-run")
    assert removal.status == 0
    assert removal.out.startswith("Plan: Remove oss2.lab (3 jobs)\n")
    assert "#2 Remove oss2.lab (after #0, #1)" in removal.out
    lnet = chroma("lnet-stop", "oss2.lab", "--dry-run")
    assert "$ lustre_rmmod ptlrpc" in lnet.out
    refused = chroma("target-failover", "fs1-OST0000", "--yes")
    assert (refused.status, refused.err) == (
        1,
        "chroma: FailoverTargetJob cannot run on fs1-OST0000 now (available: none).\n",
    )
    assert chroma("server-list", "--json").json()[3]["state"] == "unconfigured"  # nothing ran
