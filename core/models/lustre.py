"""Lustre objects: filesystems, targets and where they mount, conf params, OST pools, clients.

Layer: core. Thread: the database worker's.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, SoftDeleted, Stateful, enum_column, unique_where, utcnow
from core.states import ClientMountState, FilesystemState, TargetState

if TYPE_CHECKING:
    from core.models.hosts import Host
    from core.models.storage import Volume, VolumeNode


class TargetKind(StrEnum):
    MGT = "MGT"
    MDT = "MDT"
    OST = "OST"


class ConfParamScope(StrEnum):
    """What a conf param applies to; decides the prefix of the key sent to `lctl conf_param`."""

    FILESYSTEM_CLIENT = "filesystem_client"
    FILESYSTEM_GLOBAL = "filesystem_global"
    MDT = "mdt"
    OST = "ost"


class Filesystem(SoftDeleted, Stateful, Base):
    """A Lustre filesystem: one MGS (possibly shared), one or more MDTs, and OSTs."""

    __tablename__ = "filesystems"
    __table_args__ = (unique_where("uq_filesystems_mgs_id_name_live", "mgs_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(8))
    # targets.filesystem_id points back here: the constraint is added after both tables exist.
    mgs_id: Mapped[int] = mapped_column(ForeignKey("targets.id", use_alter=True))
    state: Mapped[FilesystemState] = enum_column(
        FilesystemState, default=FilesystemState.UNAVAILABLE
    )
    mdt_next_index: Mapped[int] = mapped_column(default=0)
    ost_next_index: Mapped[int] = mapped_column(default=0)

    mgs: Mapped[Target] = relationship(foreign_keys=[mgs_id], back_populates="mgs_filesystems")
    targets: Mapped[list[Target]] = relationship(
        foreign_keys="Target.filesystem_id", back_populates="filesystem"
    )
    pools: Mapped[list[OstPool]] = relationship(back_populates="filesystem")
    client_mounts: Mapped[list[ClientMount]] = relationship(back_populates="filesystem")

    def live_targets(self, kind: TargetKind | None = None) -> list[Target]:
        return [t for t in self.targets if t.is_live and (kind is None or t.kind == kind)]


class Target(SoftDeleted, Stateful, Base):
    """An MGT, MDT or OST: one Lustre service on one volume."""

    __tablename__ = "targets"
    __table_args__ = (
        # A volume carries at most one live target.
        unique_where("uq_targets_volume_id_live", "volume_id"),
        # An index is used once per kind in a filesystem.
        unique_where("uq_targets_filesystem_id_kind_index_live", "filesystem_id", "kind", "index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TargetKind] = enum_column(TargetKind)
    name: Mapped[str] = mapped_column(String(64))
    """MGS, <fsname>-MDT<hex4> or <fsname>-OST<hex4>."""
    index: Mapped[int | None]
    """MDT/OST index within the filesystem; None for the MGT."""
    filesystem_id: Mapped[int | None] = mapped_column(ForeignKey("filesystems.id"))
    """The filesystem of an MDT or OST; None for the MGT, which may serve several."""
    volume_id: Mapped[int] = mapped_column(ForeignKey("volumes.id"))
    state: Mapped[TargetState] = enum_column(TargetState, default=TargetState.UNFORMATTED)
    uuid: Mapped[str | None] = mapped_column(String(64))
    """The backing filesystem's UUID once formatted; how audits match mounts."""
    ha_label: Mapped[str | None] = mapped_column(String(64))
    inode_size: Mapped[int | None]
    bytes_per_inode: Mapped[int | None]
    inode_count: Mapped[int | None]
    conf_param_version: Mapped[int] = mapped_column(default=0)
    """MGT only: the newest conf param version saved for its filesystems."""
    conf_param_version_applied: Mapped[int] = mapped_column(default=0)
    """MGT only: the newest version pushed to the servers."""

    filesystem: Mapped[Filesystem | None] = relationship(
        foreign_keys=[filesystem_id], back_populates="targets"
    )
    mgs_filesystems: Mapped[list[Filesystem]] = relationship(
        foreign_keys="Filesystem.mgs_id", back_populates="mgs"
    )
    volume: Mapped[Volume] = relationship(back_populates="targets")
    mounts: Mapped[list[TargetMount]] = relationship(
        back_populates="target", order_by="TargetMount.failover_order"
    )

    @property
    def primary_mount(self) -> TargetMount | None:
        return next((m for m in self.mounts if m.failover_order == 0), None)

    @property
    def active_mount(self) -> TargetMount | None:
        return next((m for m in self.mounts if m.active), None)

    @property
    def default_mount_point(self) -> str:
        return f"/mnt/{self.name}"


class TargetMount(Base):
    """'Target T can run on host H from path P': failover order 0 is the primary server."""

    __tablename__ = "target_mounts"
    __table_args__ = (
        UniqueConstraint("target_id", "host_id"),
        UniqueConstraint("target_id", "failover_order"),
        # At most one place where a target runs now.
        unique_where("uq_target_mounts_target_id_active", "target_id", where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"))
    volume_node_id: Mapped[int] = mapped_column(ForeignKey("volume_nodes.id"))
    mount_point: Mapped[str] = mapped_column(String(1024))
    failover_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=False)
    """The target is running here now (as the agents report it)."""

    target: Mapped[Target] = relationship(back_populates="mounts")
    host: Mapped[Host] = relationship(back_populates="target_mounts")
    volume_node: Mapped[VolumeNode] = relationship(back_populates="target_mounts")

    @property
    def is_primary(self) -> bool:
        return self.failover_order == 0


class ConfParam(Base):
    """One saved `lctl conf_param` setting; the newest version of a key wins, None clears it."""

    __tablename__ = "conf_params"
    __table_args__ = (Index("ix_conf_params_mgs_id_version", "mgs_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mgs_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    scope: Mapped[ConfParamScope] = enum_column(ConfParamScope)
    filesystem_id: Mapped[int | None] = mapped_column(ForeignKey("filesystems.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str | None] = mapped_column(String(512))
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mgs: Mapped[Target] = relationship(foreign_keys=[mgs_id])
    filesystem: Mapped[Filesystem | None] = relationship()
    target: Mapped[Target | None] = relationship(foreign_keys=[target_id])


class ReportedConfParam(Base):
    """One permanent parameter as the MGS's server last reported it (`lctl conf_param` or
    `lctl set_param -P`, whoever set it): compared with the `ConfParam`s we set to find
    settings changed out of band."""

    __tablename__ = "reported_conf_params"
    __table_args__ = (UniqueConstraint("filesystem_id", "lustre_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filesystem_id: Mapped[int] = mapped_column(ForeignKey("filesystems.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))
    """The MDT or OST of a target parameter; None for a filesystem one."""
    key: Mapped[str] = mapped_column(String(128))
    """As the catalogue names it: "sys.timeout", "osc.active"."""
    lustre_key: Mapped[str] = mapped_column(String(256))
    """As the server reports it: "fs1.sys.timeout", "fs1-OST0000.osc.active"."""
    value: Mapped[str | None] = mapped_column(String(512))
    """None: reported not set (a parameter we set that the server no longer holds)."""
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"))
    """The server that reported it (where the MGS runs)."""
    since: Mapped[datetime] = mapped_column(default=utcnow)
    """When it was first reported with this value."""


ost_pool_members = Table(
    "ost_pool_members",
    Base.metadata,
    Column("pool_id", Integer, ForeignKey("ost_pools.id"), primary_key=True),
    Column("target_id", Integer, ForeignKey("targets.id"), primary_key=True),
)


class OstPool(SoftDeleted, Base):
    """A named set of OSTs of one filesystem (`lctl pool_new fsname.pool`)."""

    __tablename__ = "ost_pools"
    __table_args__ = (
        unique_where("uq_ost_pools_filesystem_id_name_live", "filesystem_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filesystem_id: Mapped[int] = mapped_column(ForeignKey("filesystems.id"))
    name: Mapped[str] = mapped_column(String(15))

    filesystem: Mapped[Filesystem] = relationship(back_populates="pools")
    osts: Mapped[list[Target]] = relationship(secondary=ost_pool_members)


class ClientMount(SoftDeleted, Base):
    """A Lustre client mount of a filesystem on a host."""

    __tablename__ = "client_mounts"
    __table_args__ = (
        unique_where("uq_client_mounts_host_id_mountpoint_live", "host_id", "mountpoint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"))
    filesystem_id: Mapped[int] = mapped_column(ForeignKey("filesystems.id"))
    mountpoint: Mapped[str] = mapped_column(String(1024))
    state: Mapped[ClientMountState] = enum_column(
        ClientMountState, default=ClientMountState.UNMOUNTED
    )
    state_modified_at: Mapped[datetime] = mapped_column(default=utcnow)

    host: Mapped[Host] = relationship(back_populates="client_mounts")
    filesystem: Mapped[Filesystem] = relationship(back_populates="client_mounts")
