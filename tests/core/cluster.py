"""A small cluster model for tests: two metadata servers and two object servers in HA pairs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import inventory
from core.models import Filesystem, Host, Nid, Volume
from core.states import LNetState

FORMAT_OST1 = (
    "mkfs.lustre",
    "--ost",
    "--fsname=fs1",
    "--index=1",
    "--mgsnode=10.0.0.1@tcp0",
    "--mgsnode=10.0.0.2@tcp0",
    "--servicenode=10.0.0.4@tcp0",
    "--servicenode=10.0.0.3@tcp0",
    "/dev/mapper/ost1",
)
"""How fs1-OST0001 of the small filesystem is formatted on oss2: its MGS pair, then its own pair."""


@dataclass
class SmallCluster:
    hosts: dict[str, Host]
    volumes: dict[str, Volume]


def build_small_cluster(session: Session) -> SmallCluster:
    hosts = {}
    for number, name in enumerate(["mds1", "mds2", "oss1", "oss2"], start=1):
        host = inventory.add_host(session, f"{name}.lab")
        host.fqdn = f"{name}.lab"
        assert host.lnet is not None
        host.lnet.state = LNetState.UP
        host.lnet.nids.append(Nid(nid_string=f"10.0.0.{number}@tcp0"))
        hosts[name] = host
    layout = {
        "mgt": ("mds1", "mds2"),
        "mdt": ("mds2", "mds1"),
        "ost0": ("oss1", "oss2"),
        "ost1": ("oss2", "oss1"),
        "ost2": ("oss1", "oss2"),
        "spare": ("oss1", None),
    }
    volumes = {}
    for label, (primary, secondary) in layout.items():
        volume = inventory.add_volume(
            session, serial=f"SER-{label}", size_bytes=1 << 40, label=label
        )
        inventory.add_volume_node(
            session, volume, hosts[primary], f"/dev/mapper/{label}", primary=True
        )
        if secondary:
            inventory.add_volume_node(session, volume, hosts[secondary], f"/dev/mapper/{label}")
        volumes[label] = volume
    ambiguous = inventory.add_volume(session, serial="SER-both", size_bytes=1 << 40, label="both")
    for name in ("oss1", "oss2"):
        inventory.add_volume_node(session, ambiguous, hosts[name], "/dev/mapper/both")
    volumes["both"] = ambiguous
    return SmallCluster(hosts, volumes)


def build_small_filesystem(
    session: Session, osts: tuple[str, ...] = ("ost0", "ost1")
) -> Filesystem:
    """The small cluster with fs1 on it: a new MGT, one MDT and the given OST volumes."""
    cluster = build_small_cluster(session)
    v = cluster.volumes
    return inventory.create_filesystem(
        session,
        "fs1",
        mgt_volume=v["mgt"],
        mdt_volumes=[v["mdt"]],
        ost_volumes=[v[name] for name in osts],
    )
