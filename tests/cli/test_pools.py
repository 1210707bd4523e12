"""OST pools made through `chroma` on simulated servers: the plan shows the exact lctl commands,
each change runs as a command on the MGS's server, and the simulated MGS holds what the
desktop then lists (the agent reports the MGS's pools back)."""

from __future__ import annotations

from typing import Any

from tests.cli.conftest import Cluster
from tests.cli.site import Chroma, create_filesystem, pair_all, succeeded, wait_until


def mgs_pools(cluster: Cluster, fsname: str) -> dict[str, list[str]]:
    """What the simulated MGS keeps: its pools of `fsname` and their OSTs."""

    def read() -> dict[str, list[str]]:
        mgt = next(
            lun.target
            for lun in cluster.simulator.model.luns.values()
            if lun.target is not None and lun.target.kind == "MGT"
        )
        return {name: list(osts) for name, osts in mgt.registry[fsname].pools.items()}

    result: dict[str, list[str]] = cluster.reactor_thread.call_and_wait(read)
    return result


def listed(chroma: Chroma) -> dict[str, list[str]]:
    rows: list[dict[str, Any]] = succeeded(chroma("pool-list", "--json")).json()
    return {row["name"]: row["osts"] for row in rows}


def test_a_pool_is_created_changed_and_destroyed_on_the_simulated_mgs(
    cluster: Cluster, chroma: Chroma
) -> None:
    volumes = pair_all(cluster, chroma)
    create_filesystem(chroma, volumes, "poolfs", osts=3)

    plan = succeeded(
        chroma("pool-create", "poolfs", "fast", "poolfs-OST0000", "poolfs-OST0001", "--dry-run")
    )
    assert plan.out.startswith("Plan: Create OST pool poolfs.fast")
    assert "$ lctl pool_new poolfs.fast" in plan.out
    assert "$ lctl pool_add poolfs.fast poolfs-OST0000 poolfs-OST0001" in plan.out
    assert mgs_pools(cluster, "poolfs") == {} and listed(chroma) == {}

    made = succeeded(chroma("pool-create", "poolfs", "fast", "poolfs-OST0000", "poolfs-OST0001"))
    assert "Create OST pool poolfs.fast: succeeded" in made.out
    assert made.out.endswith("Pool poolfs.fast: poolfs-OST0000, poolfs-OST0001\n")
    assert mgs_pools(cluster, "poolfs") == {"fast": ["poolfs-OST0000", "poolfs-OST0001"]}

    taken = succeeded(chroma("pool-remove", "poolfs", "fast", "poolfs-OST0000"))
    assert taken.out.endswith("Pool poolfs.fast: poolfs-OST0001\n")
    assert mgs_pools(cluster, "poolfs") == {"fast": ["poolfs-OST0001"]}
    assert listed(chroma) == {"fast": ["poolfs-OST0001"]}

    twice = chroma("pool-remove", "poolfs", "fast", "poolfs-OST0000")
    assert twice.status == 1 and "poolfs-OST0000 is not in pool fast" in twice.err

    # A pool changed by hand on the MGS: the agent's report brings the model up to date.
    def by_hand() -> None:
        mgt = next(
            lun.target
            for lun in cluster.simulator.model.luns.values()
            if lun.target is not None and lun.target.kind == "MGT"
        )
        mgt.registry["poolfs"].pools["fast"].append("poolfs-OST0002")

    cluster.reactor_thread.call_and_wait(by_hand)
    wait_until(
        lambda: listed(chroma) == {"fast": ["poolfs-OST0001", "poolfs-OST0002"]},
        "the pool changed by hand to be listed",
    )

    refused = chroma("pool-destroy", "poolfs", "fast")
    assert refused.status == 1 and "--yes" in refused.err
    destroyed = succeeded(chroma("pool-destroy", "poolfs", "fast", "--yes"))
    assert "Destroy OST pool poolfs.fast: succeeded" in destroyed.out
    assert mgs_pools(cluster, "poolfs") == {}
    assert listed(chroma) == {}
    commands = succeeded(chroma("command-list", "--json")).json()
    assert [c["state"] for c in commands[:4]] == ["succeeded"] * 4
