"""Steps shared by the CLI tests on the simulated site: pair its servers through `chroma
server-add`, wait for their volumes, and create a filesystem, each checked as an admin would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.cli.conftest import TOKEN, Cluster, Ran

Chroma = Callable[..., Ran]
WAIT_S = 30.0


def wait_until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (found := check()):
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.2)
    return found


def succeeded(ran: Ran) -> Ran:
    assert ran.status == 0, f"exit {ran.status}: {ran.out}{ran.err}"
    return ran


def pair_all(cluster: Cluster, chroma: Chroma) -> list[dict[str, Any]]:
    """Pair every simulated server; returns the shared volumes once each server has its own."""
    servers = sorted(cluster.network.ports)
    hostlist = ",".join(cluster.address(name) for name in servers)
    added = succeeded(chroma("server-add", hostlist, "--token", TOKEN))
    assert added.out.count(": paired sim-") == len(servers)
    assert cluster.local.manager.wait_for_links(WAIT_S) == ()

    def shared_volumes() -> list[dict[str, Any]]:
        volumes = succeeded(chroma("volume-list", "--json")).json()
        shared = [v for v in volumes if v["primary_server"] and v["failover_servers"]]
        return shared if len({v["primary_server"] for v in shared}) == len(servers) else []

    volumes: list[dict[str, Any]] = wait_until(shared_volumes, "every server's volumes")
    return volumes


def create_filesystem(
    chroma: Chroma, volumes: list[dict[str, Any]], name: str, *, osts: int = 2
) -> dict[str, Any]:
    """Create and start `name` on an MGT, an MDT and `osts` OSTs (sim-oss1's first); its
    details."""
    metadata = sorted(
        (v for v in volumes if "mds" in v["primary_server"]),
        key=lambda v: (v["size_bytes"], v["id"]),
    )
    ost_volumes = sorted(
        (v for v in volumes if "oss" in v["primary_server"]),
        key=lambda v: (v["primary_server"], v["id"]),
    )[:osts]
    assert len(ost_volumes) == osts
    created = succeeded(
        chroma(
            "filesystem-create",
            name,
            "--mgt",
            metadata[0]["name"],
            "--mdt",
            metadata[1]["name"],
            "--ost",
            ",".join(v["name"] for v in ost_volumes),
            "--yes",
        )
    )
    assert f"Create filesystem {name}: succeeded" in created.out
    shown: dict[str, Any] = succeeded(chroma("filesystem-show", name, "--json")).json()
    assert shown["state"] == "available"
    return shown
