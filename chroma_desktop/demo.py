"""The demo cluster: eight servers in HA pairs, their shared LUNs and one filesystem, `demofs`.

Layer: chroma_desktop (no Qt). Thread: the database worker's. Today `make demo` builds this
model in a fresh database and prints it with the plan each target follows; once the simulator
and the window land, the same layout is served by simulated agents and shown live.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import inventory
from core.models import Filesystem, Host, Nid, Target, Volume
from core.records import FilesystemRecord, filesystem_record
from core.scheduler import PlanPreview
from core.states import HostState, LNetState

GIB = 1 << 30


@dataclass(frozen=True)
class DemoLun:
    serial: str
    size_bytes: int
    primary: str
    secondary: str


@dataclass(frozen=True)
class DemoCluster:
    """Two metadata servers and six object storage servers, each pair sharing its LUNs."""

    fsname: str = "demofs"
    metadata_pair: tuple[str, str] = ("mds1", "mds2")
    storage_pairs: tuple[tuple[str, str], ...] = (
        ("oss1", "oss2"),
        ("oss3", "oss4"),
        ("oss5", "oss6"),
    )
    osts_per_pair: int = 4

    @property
    def servers(self) -> list[str]:
        return [*self.metadata_pair, *(name for pair in self.storage_pairs for name in pair)]

    def mgt_lun(self) -> DemoLun:
        return DemoLun("DEMO-MGT", 1 * GIB, *self.metadata_pair)

    def mdt_lun(self) -> DemoLun:
        first, second = self.metadata_pair
        return DemoLun("DEMO-MDT0", 512 * GIB, second, first)

    def ost_luns(self) -> Iterator[DemoLun]:
        for pair_index, (first, second) in enumerate(self.storage_pairs):
            for n in range(self.osts_per_pair):
                # Alternate primaries so that both servers of a pair carry load.
                primary, secondary = (first, second) if n % 2 == 0 else (second, first)
                yield DemoLun(f"DEMO-OST{pair_index}{n}", 8 * 1024 * GIB, primary, secondary)


def build_demo_model(session: Session, cluster: DemoCluster = DemoCluster()) -> FilesystemRecord:
    """Add the demo servers with LNet up, their shared volumes, and the demo filesystem."""
    hosts: dict[str, Host] = {}
    for number, name in enumerate(cluster.servers, start=1):
        host = inventory.add_host(session, f"{name}.demo.lustre")
        host.fqdn = host.address
        host.nodename = name
        host.state = HostState.CONFIGURED
        assert host.lnet is not None
        host.lnet.state = LNetState.UP
        host.lnet.nids.append(Nid(nid_string=f"10.0.0.{number}@tcp0"))
        hosts[name] = host

    def volume(lun: DemoLun) -> Volume:
        made = inventory.add_volume(session, serial=lun.serial, size_bytes=lun.size_bytes)
        for host_name, primary in ((lun.primary, True), (lun.secondary, False)):
            path = f"/dev/disk/by-id/scsi-{lun.serial.lower()}"
            inventory.add_volume_node(session, made, hosts[host_name], path, primary=primary)
        return made

    filesystem = inventory.create_filesystem(
        session,
        cluster.fsname,
        mgt_volume=volume(cluster.mgt_lun()),
        mdt_volumes=[volume(cluster.mdt_lun())],
        ost_volumes=[volume(lun) for lun in cluster.ost_luns()],
    )
    return filesystem_record(filesystem)


def describe_demo(session: Session, fsname: str) -> list[str]:
    """The model as an admin would read it: servers, targets with failover, and the plan."""
    lines = []
    hosts = session.scalars(select(Host).where(Host.deleted_at.is_(None)).order_by(Host.id)).all()
    lines.append(f"Servers ({len(hosts)}):")
    for host in hosts:
        nids = ", ".join(n.nid_string for n in host.lnet.nids) if host.lnet else "-"
        lnet = host.lnet.state if host.lnet else LNetState.UNKNOWN
        lines.append(f"  {host.label:<20} {host.state:<13} LNet {lnet:<8} {nids}")
    filesystem = session.scalars(select(Filesystem).where(Filesystem.name == fsname)).one()
    record = filesystem_record(filesystem)
    targets: list[Target] = [filesystem.mgs, *filesystem.live_targets()]
    lines.append("")
    lines.append(f"Filesystem {record.name} ({record.state}), {len(targets)} targets:")
    for target in targets:
        servers = " -> ".join(m.host.label for m in target.mounts)
        size = target.volume.size_bytes or 0
        lines.append(f"  {target.name:<16} {target.state:<12} {size / GIB:>7.0f} GiB  on {servers}")
    lines.append(f"Clients will mount: mount -t lustre {record.mount_path} /mnt/{record.name}")
    return lines


def describe_plan(plan: PlanPreview, target: str) -> list[str]:
    """The dry run an admin sees before starting the filesystem: its size, and every step and
    exact command line for one of its targets."""
    servers = {step.host for job in plan.jobs for step in job.steps if step.host}
    lines = [
        f"Plan '{plan.message}': {len(plan.jobs)} jobs on {len(servers)} servers, "
        f"run in parallel where their dependencies allow.",
        f"Confirm first: {' '.join(plan.confirmations)}",
        f"The jobs of {target} and what they run:",
    ]
    for job in plan.jobs:
        if job.subject != target:
            continue
        lines.append(f"  {job.description}")
        for step in job.steps:
            lines.append(f"    on {step.host}: {step.description}")
            lines += [f"      $ {shlex.join(argv)}" for argv in step.command_lines]
    return lines
