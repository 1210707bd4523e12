"""`chroma command-cancel` and `chroma server-remove` against live simulated servers: a command
cancelled mid-way ends cancelled with its unstarted jobs cancelled and nothing left locked, and a
removed server is unpaired and no longer talked to; each checked as an admin would see it."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.cli.conftest import Cluster
from tests.cli.site import Chroma, create_filesystem, pair_all, succeeded, wait_until


def command(chroma: Chroma, command_id: int) -> dict[str, Any]:
    shown: dict[str, Any] = succeeded(chroma("command-show", str(command_id), "--json")).json()
    return shown


def jobs_by_description(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["description"]: job for job in shown["jobs"]}


def test_a_command_cancelled_mid_way_ends_cancelled_and_leaves_nothing_locked(
    cluster: Cluster, chroma: Chroma
) -> None:
    volumes = pair_all(cluster, chroma)
    shown = create_filesystem(chroma, volumes, "cancelfs")
    ost_server = next(t["active"] for t in shown["targets"] if t["kind"] == "OST")
    succeeded(chroma("filesystem-stop", "cancelfs", "--yes"))
    # The OSTs' server mounts slowly: the start is caught while it mounts them.
    cluster.reactor_thread.call_and_wait(lambda: cluster.simulator.fault(ost_server, "slow"))

    started = succeeded(chroma("filesystem-start", "cancelfs", "--yes", "--nowait"))
    found = re.match(r"Started command (\d+): Start cancelfs", started.out)
    assert found, started.out
    command_id = int(found.group(1))

    def mounting_osts() -> bool:
        jobs = command(chroma, command_id)["jobs"]
        return any(j["state"] == "running" and "OST" in j["description"] for j in jobs)

    wait_until(mounting_osts, "the OSTs to be mounting")
    cancelled = chroma("command-cancel", str(command_id))
    assert cancelled.status == 0, cancelled.err
    assert cancelled.out.startswith(f"Start cancelfs: cancelled (command {command_id})")

    after = command(chroma, command_id)
    assert after["state"] == "cancelled"
    jobs = jobs_by_description(after)
    assert jobs["Start cancelfs-MDT0000"]["state"] == "succeeded", "it ended before the cancel"
    assert jobs["Start cancelfs"]["state"] == "cancelled", "never started: cancelled"
    for name in ("cancelfs-OST0000", "cancelfs-OST0001"):
        assert jobs[f"Start {name}"]["state"] == "cancelled", "stopped while it mounted"
        assert jobs[f"Start {name}"]["error"].startswith("Cancelled by ")
    # States are what the servers say: the OSTs did not start.
    targets = succeeded(chroma("target-list", "--filesystem", "cancelfs", "--json")).json()
    assert {t["name"]: t["state"] for t in targets if t["kind"] == "OST"} == {
        "cancelfs-OST0000": "unmounted",
        "cancelfs-OST0001": "unmounted",
    }

    again = chroma("command-cancel", str(command_id))
    assert again.status == 1
    assert f"Command {command_id} has already finished (cancelled)" in again.err

    # Nothing is left locked: the scheduler holds no job, and the same objects start at once.
    held = cluster.local.manager.run(
        lambda scheduler: (scheduler.idle, scheduler.locks.holders())
    ).result(timeout=10)
    assert held == (True, set())
    cluster.reactor_thread.call_and_wait(lambda: cluster.simulator.fault(ost_server, "restore"))
    restarted = succeeded(chroma("filesystem-start", "cancelfs", "--yes"))
    assert "Start cancelfs: succeeded" in restarted.out
    assert succeeded(chroma("filesystem-show", "cancelfs", "--json")).json()["state"] == "available"


def linked(cluster: Cluster) -> set[str]:
    links = cluster.local.manager.links
    assert links is not None
    connected: set[str] = cluster.reactor_thread.call_and_wait(lambda: links.connected)
    return connected


def test_a_removed_server_is_unpaired_and_no_longer_talked_to(
    cluster: Cluster, chroma: Chroma
) -> None:
    volumes = pair_all(cluster, chroma)
    shown = create_filesystem(chroma, volumes, "rmfs")
    serving = {t["active"] for t in shown["targets"]} | {
        server for t in shown["targets"] for server in t["failover"]
    }
    set_up, never_set_up = [
        name for name in sorted(cluster.network.ports) if name not in serving and "oss" in name
    ][:2]

    # A server that serves targets: removing it removes them first, and asks to confirm.
    busy = next(t for t in shown["targets"] if t["kind"] == "OST")["active"]
    plan = succeeded(chroma("server-remove", busy, "--dry-run", "--json")).json()
    described = [job["description"] for job in plan["jobs"]]
    assert f"Remove {busy}" in described
    assert any(d.startswith("Remove rmfs-OST") for d in described)
    assert plan["confirmations"]

    # A server that was set up (LNet started on it): its agent is told to unpair.
    succeeded(chroma("lnet-start", set_up, "--yes"))
    plan_text = succeeded(chroma("server-remove", set_up, "--dry-run")).out
    assert plan_text.startswith(f"Plan: Remove {set_up}")
    assert f"Unpair the agent on {set_up}" in plan_text
    removed = succeeded(chroma("server-remove", set_up, "--yes"))
    assert f"Remove {set_up}: succeeded (command " in removed.out
    # One never set up: nothing on it changes, but the desktop lets go of it too.
    succeeded(chroma("server-remove", never_set_up, "--yes"))
    listed = {row["label"] for row in succeeded(chroma("server-list", "--json")).json()}
    assert set_up not in listed and never_set_up not in listed

    agent = cluster.network.agents[set_up]
    wait_until(
        lambda: (
            not cluster.reactor_thread.call_and_wait(
                lambda: agent.service.identity.refresh(set_up).paired
            )
        ),
        f"the agent on {set_up} to forget this desktop",
    )
    gone = {cluster.address(set_up), cluster.address(never_set_up)}
    wait_until(lambda: not gone & linked(cluster), "the desktop to let go of both")
    assert cluster.local.manager.wait_for_links(5.0) == (), "every other server is still linked"
    time.sleep(1.0)  # the links' retry delay: neither comes back
    assert not gone & linked(cluster)
    alerts = succeeded(chroma("alert-list", "--json")).json()
    assert not [a for a in alerts if a["subject"] in (set_up, never_set_up)]
    assert succeeded(chroma("filesystem-show", "rmfs", "--json")).json()["state"] == "available"
