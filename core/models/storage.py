"""Storage a Lustre target can live on: volumes and the paths by which servers see them.

Layer: core. Thread: the database worker's. A volume seen by two servers (one LUN, matched by
serial or WWID) has two volume nodes; the primary one is where its target normally runs and the
others are failover paths, which is how HA pairs are expressed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, SoftDeleted, unique_where

if TYPE_CHECKING:
    from core.models.hosts import Host
    from core.models.lustre import Target, TargetMount


class HaStatus(StrEnum):
    CONFIGURED_HA = "configured-ha"
    """A primary node and at least one used failover node."""
    CONFIGURED_NOHA = "configured-noha"
    """A single node, or a primary with no used failover node."""
    UNCONFIGURED = "unconfigured"
    """No node, or several and none chosen as primary."""


class Volume(SoftDeleted, Base):
    """A LUN, partition, logical volume or pool dataset that can hold one Lustre target."""

    __tablename__ = "volumes"
    __table_args__ = (unique_where("uq_volumes_serial_live", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(String(255))
    serial: Mapped[str | None] = mapped_column(String(255))
    """SCSI serial or WWID: how the same LUN is recognised on several servers."""
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    filesystem_type: Mapped[str | None] = mapped_column(String(32))
    """What blkid found on it (ext4, ldiskfs, zfs_member, …), if anything."""

    nodes: Mapped[list[VolumeNode]] = relationship(back_populates="volume")
    targets: Mapped[list[Target]] = relationship(back_populates="volume")

    def live_nodes(self) -> list[VolumeNode]:
        return [node for node in self.nodes if node.is_live]

    @property
    def ha_status(self) -> HaStatus:
        nodes = self.live_nodes()
        primaries = [node for node in nodes if node.primary]
        if not nodes or (len(nodes) > 1 and not primaries):
            return HaStatus.UNCONFIGURED
        if primaries and any(node.use and not node.primary for node in nodes):
            return HaStatus.CONFIGURED_HA
        return HaStatus.CONFIGURED_NOHA

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        nodes = self.live_nodes()
        if nodes:
            return f"{nodes[0].host.label}:{nodes[0].path}"
        return f"volume {self.id}"


class VolumeNode(SoftDeleted, Base):
    """The device path of a volume on one host."""

    __tablename__ = "volume_nodes"
    __table_args__ = (unique_where("uq_volume_nodes_host_id_path_live", "host_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volume_id: Mapped[int] = mapped_column(ForeignKey("volumes.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"))
    path: Mapped[str] = mapped_column(String(1024))
    """Preferably stable: /dev/disk/by-id/… or /dev/mapper/…"""
    primary: Mapped[bool] = mapped_column(default=False)
    use: Mapped[bool] = mapped_column(default=True)
    """Whether this server may mount the volume at all; used and not primary means failover."""

    volume: Mapped[Volume] = relationship(back_populates="nodes")
    host: Mapped[Host] = relationship(back_populates="volume_nodes")
    target_mounts: Mapped[list[TargetMount]] = relationship(back_populates="volume_node")
