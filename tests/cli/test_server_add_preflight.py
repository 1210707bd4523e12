"""`chroma server-add` prints every server's pre-flight checks, pairs those that pass, refuses
one that fails unless `--force`, and with `--check` only checks."""

from __future__ import annotations

from collections.abc import Callable

from chroma_desktop.api.openapi import openapi_document
from tests.api.test_openapi import conforms
from tests.cli.conftest import TOKEN, Cluster, Ran

Chroma = Callable[..., Ran]


def test_server_add_shows_the_checks_and_refuses_a_failing_server_until_forced(
    cluster: Cluster, chroma: Chroma
) -> None:
    cluster.reactor_thread.call_and_wait(lambda: cluster.simulator.fault("sim-oss1", "skew-clock"))
    good, skewed = cluster.address("sim-mds1"), cluster.address("sim-oss1")
    hostlist = f"{good},{skewed}"

    checked = chroma("server-add", hostlist, "--token", TOKEN, "--check")
    assert checked.status == 1
    lines = checked.out.splitlines()
    assert f"{good} (sim-mds1): checks passed with warnings: agent version" in lines
    assert f"{skewed} (sim-oss1): checks failed: clock" in lines
    assert any(line.startswith("  fail  Clock: sim-oss1's clock is 15 min ahead") for line in lines)
    assert any(
        line.startswith("  pass  LNet: LNet is unloaded; its NIDs will be 10.0.0.")
        for line in lines
    )
    assert checked.err == "1 of 2 servers failed a pre-flight check.\n"
    assert chroma("server-list").out.strip() == "No servers."  # checking pairs nothing

    added = chroma("server-add", hostlist, "--token", TOKEN)
    assert added.status == 1
    assert f"{good}: paired sim-mds1" in added.out
    assert f"{good} (sim-mds1): checks passed with warnings: agent version" in added.out
    assert "  warn  Agent version: " in added.out
    assert "  pass  " not in added.out  # when pairing, only what did not pass is spelled out
    assert "  fail  Clock: sim-oss1's clock is 15 min ahead" in added.err
    assert f"{skewed}: not paired: checks failed: clock; --force pairs it anyway" in added.err
    assert "Traceback" not in added.err

    forced = chroma("server-add", skewed, "--token", TOKEN, "--force")
    assert forced.status == 0, forced.err
    assert f"{skewed}: paired sim-oss1" in forced.out
    assert "  fail  Clock: sim-oss1's clock is 15 min ahead" in forced.out  # paired despite it
    labels = sorted(row["label"] for row in chroma("server-list", "--json").json())
    assert labels == ["sim-mds1", "sim-oss1"]


def test_server_add_json_carries_the_checks(cluster: Cluster, chroma: Chroma) -> None:
    added = chroma("server-add", cluster.address("sim-mds1"), "--token", TOKEN, "--json")
    assert added.status == 0, added.err
    (host,) = added.json()
    checks = {c["check"]: c["status"] for c in host["preflight"]["checks"]}
    assert checks["clock"] == "pass" and checks["version"] == "warn"
    assert host["preflight"]["passed"] is True
    # the API's answer, as its OpenAPI document declares it
    conforms(openapi_document(), {"$ref": "#/components/schemas/PairedHost"}, host, "201")
