"""The volumes read model: who is primary and who fails over, the HA status as an admin reads it,
the target on each volume, and sizes in human units; no Qt, no ORM rows out."""

from __future__ import annotations

import dataclasses

from core.database import Database
from core.queries.volumes import VolumePath, list_volumes
from tests.core.cluster import build_small_filesystem


def test_volumes_say_their_servers_ha_status_and_target(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        build_small_filesystem(session)
    with sqlite_database.session() as session:
        volumes = {volume.name: volume for volume in list_volumes(session)}

    assert list(volumes) == sorted(volumes)
    ost1 = volumes["ost1"]
    assert (ost1.primary_server, ost1.failover_servers) == ("oss2.lab", ("oss1.lab",))
    assert ost1.ha_text == "Configured (HA)"
    assert ost1.target == "fs1-OST0001"
    assert ost1.paths == (
        VolumePath("oss2.lab", "/dev/mapper/ost1", "primary"),
        VolumePath("oss1.lab", "/dev/mapper/ost1", "failover"),
    )
    assert ost1.size == "1.0 TiB"

    spare = volumes["spare"]
    assert spare.ha_text == "Configured (no HA)" and spare.target is None
    assert (spare.primary_server, spare.failover_servers) == ("oss1.lab", ())

    both = volumes["both"]
    assert both.ha_text == "Unconfigured" and both.primary_server is None
    assert both.servers == ("oss1.lab", "oss2.lab")
    assert both.failover_servers == ()
    assert {path.role for path in both.paths} == {"no primary chosen"}

    assert volumes["ost2"].target is None  # not in the filesystem: free to use
    assert all(dataclasses.is_dataclass(v) for v in volumes.values())
