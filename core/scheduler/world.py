"""The scheduler's picture of the cluster: every stateful object, its state and relations.

Layer: core. Thread: the database worker's. Loaded from the database with a few plain queries
(no ORM objects, so that 10,000 targets load in milliseconds), then kept up to date by the
scheduler as jobs finish. Objects are addressed by `Ref = (kind, id)`; LNet is addressed by its
host's id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import (
    ClientMount,
    Filesystem,
    Host,
    LNetConfiguration,
    Nid,
    Target,
    TargetKind,
    TargetMount,
    VolumeNode,
)

Ref = tuple[str, int]

HOST = "host"
LNET = "lnet"
TARGET = "target"
FILESYSTEM = "filesystem"
CLIENT_MOUNT = "client_mount"


@dataclass
class HostNode:
    id: int
    label: str
    address: str
    state: str
    lnet_state: str
    nids: tuple[str, ...]
    monitor_only: bool


@dataclass
class MountNode:
    id: int
    host_id: int
    device: str
    mount_point: str
    failover_order: int
    active: bool


@dataclass
class TargetNode:
    id: int
    name: str
    kind: TargetKind
    index: int | None
    state: str
    filesystem_id: int | None
    monitor_only: bool
    mounts: list[MountNode] = field(default_factory=list)
    inode_size: int | None = None
    bytes_per_inode: int | None = None
    inode_count: int | None = None

    @property
    def primary(self) -> MountNode:
        return self.mounts[0]

    @property
    def active(self) -> MountNode | None:
        return next((m for m in self.mounts if m.active), None)


@dataclass
class FilesystemNode:
    id: int
    name: str
    state: str
    mgs_id: int
    monitor_only: bool
    member_ids: list[int] = field(default_factory=list)
    """MDTs first (by index), then OSTs (by index)."""
    members_by_kind: dict[TargetKind, list[int]] = field(default_factory=dict)


@dataclass
class ClientMountNode:
    id: int
    host_id: int
    filesystem_id: int
    mount_point: str
    state: str


@dataclass
class World:
    hosts: dict[int, HostNode] = field(default_factory=dict)
    targets: dict[int, TargetNode] = field(default_factory=dict)
    filesystems: dict[int, FilesystemNode] = field(default_factory=dict)
    client_mounts: dict[int, ClientMountNode] = field(default_factory=dict)
    targets_by_host: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    filesystems_by_mgs: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    client_mounts_by_host: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    client_mounts_by_filesystem: dict[int, list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def state(self, ref: Ref) -> str:
        kind, ident = ref
        if kind == HOST:
            return self.hosts[ident].state
        if kind == LNET:
            return self.hosts[ident].lnet_state
        if kind == TARGET:
            return self.targets[ident].state
        if kind == FILESYSTEM:
            return self.filesystems[ident].state
        return self.client_mounts[ident].state

    def set_state(self, ref: Ref, state: str) -> None:
        kind, ident = ref
        if kind == HOST:
            self.hosts[ident].state = state
        elif kind == LNET:
            self.hosts[ident].lnet_state = state
        elif kind == TARGET:
            self.targets[ident].state = state
        elif kind == FILESYSTEM:
            self.filesystems[ident].state = state
        else:
            self.client_mounts[ident].state = state

    def exists(self, ref: Ref) -> bool:
        kind, ident = ref
        if kind in (HOST, LNET):
            return ident in self.hosts
        if kind == TARGET:
            return ident in self.targets
        if kind == FILESYSTEM:
            return ident in self.filesystems
        return kind == CLIENT_MOUNT and ident in self.client_mounts

    def name(self, ref: Ref) -> str:
        kind, ident = ref
        if kind == HOST:
            return self.hosts[ident].label
        if kind == LNET:
            return f"LNet on {self.hosts[ident].label}"
        if kind == TARGET:
            return self.targets[ident].name
        if kind == FILESYSTEM:
            return self.filesystems[ident].name
        mount = self.client_mounts[ident]
        return f"{self.filesystems[mount.filesystem_id].name} on {self.hosts[mount.host_id].label}"

    def members(self, filesystem_id: int, kind: TargetKind | None = None) -> list[TargetNode]:
        filesystem = self.filesystems[filesystem_id]
        ids = filesystem.member_ids if kind is None else filesystem.members_by_kind.get(kind, [])
        return [self.targets[t] for t in ids]


def load_world(session: Session) -> World:
    """Every live stateful object, in a handful of plain queries."""
    world = World()
    nids: dict[int, list[str]] = defaultdict(list)
    for host_id, nid in session.execute(
        select(LNetConfiguration.host_id, Nid.nid_string)
        .join(Nid, Nid.lnet_configuration_id == LNetConfiguration.id)
        .order_by(Nid.nid_string)
    ):
        nids[host_id].append(nid)
    for h in session.execute(
        select(
            Host.id,
            Host.fqdn,
            Host.address,
            Host.state,
            Host.monitor_only,
            LNetConfiguration.state.label("lnet_state"),
        )
        .outerjoin(LNetConfiguration, LNetConfiguration.host_id == Host.id)
        .where(Host.deleted_at.is_(None))
    ):
        world.hosts[h.id] = HostNode(
            id=h.id,
            label=(h.fqdn or h.address).removesuffix(".localdomain"),
            address=h.address,
            state=str(h.state),
            lnet_state=str(h.lnet_state) if h.lnet_state else "unknown",
            nids=tuple(nids.get(h.id, ())),
            monitor_only=h.monitor_only,
        )
    for t in session.execute(
        select(
            Target.id,
            Target.name,
            Target.kind,
            Target.index.label("target_index"),
            Target.state,
            Target.filesystem_id,
            Target.monitor_only,
            Target.inode_size,
            Target.bytes_per_inode,
            Target.inode_count,
        )
        .where(Target.deleted_at.is_(None))
        .order_by(Target.kind, Target.index, Target.id)
    ):
        world.targets[t.id] = TargetNode(
            id=t.id,
            name=t.name,
            kind=TargetKind(t.kind),
            index=t.target_index,
            state=str(t.state),
            filesystem_id=t.filesystem_id,
            monitor_only=t.monitor_only,
            inode_size=t.inode_size,
            bytes_per_inode=t.bytes_per_inode,
            inode_count=t.inode_count,
        )
    for m in session.execute(
        select(
            TargetMount.id,
            TargetMount.target_id,
            TargetMount.host_id,
            VolumeNode.path,
            TargetMount.mount_point,
            TargetMount.failover_order,
            TargetMount.active,
        )
        .join(VolumeNode, VolumeNode.id == TargetMount.volume_node_id)
        .order_by(TargetMount.target_id, TargetMount.failover_order)
    ):
        owner = world.targets.get(m.target_id)
        if owner is None:
            continue
        owner.mounts.append(
            MountNode(m.id, m.host_id, m.path, m.mount_point, m.failover_order, m.active)
        )
        world.targets_by_host[m.host_id].append(m.target_id)
    for f in session.execute(
        select(
            Filesystem.id,
            Filesystem.name,
            Filesystem.state,
            Filesystem.mgs_id,
            Filesystem.monitor_only,
        ).where(Filesystem.deleted_at.is_(None))
    ):
        world.filesystems[f.id] = FilesystemNode(
            f.id, f.name, str(f.state), f.mgs_id, f.monitor_only
        )
        world.filesystems_by_mgs[f.mgs_id].append(f.id)
    for target in world.targets.values():
        if target.filesystem_id is not None and target.filesystem_id in world.filesystems:
            filesystem = world.filesystems[target.filesystem_id]
            filesystem.member_ids.append(target.id)
            filesystem.members_by_kind.setdefault(target.kind, []).append(target.id)
    for c in session.execute(
        select(
            ClientMount.id,
            ClientMount.host_id,
            ClientMount.filesystem_id,
            ClientMount.mountpoint,
            ClientMount.state,
        ).where(ClientMount.deleted_at.is_(None))
    ):
        world.client_mounts[c.id] = ClientMountNode(
            c.id, c.host_id, c.filesystem_id, c.mountpoint, str(c.state)
        )
        world.client_mounts_by_host[c.host_id].append(c.id)
        world.client_mounts_by_filesystem[c.filesystem_id].append(c.id)
    return world
