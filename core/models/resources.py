"""Storage-plugin resources as stored: what each plugin last reported, who reported it, and the
volume or volume node it became.

Layer: core. Thread: the database worker's. A resource is identified by its plugin, its class
and its identifier (the JSON list of its identifying attribute values). A globally identified
resource (a SCSI LUN by serial) is one row however many servers report it; a scoped one (a
device path) is one row per reporting host. Rows are never deleted: a resource no server reports
any more keeps its row with `missing_since` stamped, so an alert can say which device went
missing and the row comes back to life when the device does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, unique_where, utcnow

if TYPE_CHECKING:
    from core.models.hosts import Host
    from core.models.storage import Volume, VolumeNode

storage_resource_parents = Table(
    "storage_resource_parents",
    Base.metadata,
    Column("parent_id", ForeignKey("storage_resources.id"), primary_key=True),
    Column("child_id", ForeignKey("storage_resources.id"), primary_key=True),
)
"""Edges "parent affects child" (enclosure → disk → LUN → device node)."""


class StorageResource(Base):
    """One resource a storage plugin reported."""

    __tablename__ = "storage_resources"
    __table_args__ = (
        unique_where(
            "uq_storage_resources_global",
            "plugin",
            "resource_class",
            "identifier",
            where=text("scope_host_id IS NULL"),
        ),
        unique_where(
            "uq_storage_resources_scoped",
            "plugin",
            "resource_class",
            "scope_host_id",
            "identifier",
            where=text("scope_host_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64))
    resource_class: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(1024))
    """JSON list of the identifying attribute values, e.g. ["SIM3B6D510001"]."""
    scope_host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))
    """The host a scoped identifier is unique within; None for a global identifier."""
    report_kind: Mapped[str] = mapped_column(String(32))
    """The agent report that carries it ("devices", "lustre", …): only that report can tell it
    went missing."""
    label: Mapped[str] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    missing_since: Mapped[datetime | None]
    """Set when the last host reporting it stopped doing so; cleared when one reports it again."""
    volume_id: Mapped[int | None] = mapped_column(ForeignKey("volumes.id"))
    """For a logical drive: the volume it became."""
    volume_node_id: Mapped[int | None] = mapped_column(ForeignKey("volume_nodes.id"))
    """For a device node: the volume node it became."""

    scope_host: Mapped[Host | None] = relationship(foreign_keys=[scope_host_id])
    volume: Mapped[Volume | None] = relationship()
    volume_node: Mapped[VolumeNode | None] = relationship()
    sightings: Mapped[list[StorageResourceSighting]] = relationship(
        back_populates="resource", cascade="all, delete-orphan"
    )
    parents: Mapped[list[StorageResource]] = relationship(
        secondary=storage_resource_parents,
        primaryjoin=lambda: StorageResource.id == storage_resource_parents.c.child_id,
        secondaryjoin=lambda: StorageResource.id == storage_resource_parents.c.parent_id,
        back_populates="children",
    )
    children: Mapped[list[StorageResource]] = relationship(
        secondary=storage_resource_parents,
        primaryjoin=lambda: StorageResource.id == storage_resource_parents.c.parent_id,
        secondaryjoin=lambda: StorageResource.id == storage_resource_parents.c.child_id,
        back_populates="parents",
    )

    @property
    def is_missing(self) -> bool:
        return self.missing_since is not None


class StorageResourceSighting(Base):
    """A host currently reporting a resource (a shared LUN has one per server that sees it)."""

    __tablename__ = "storage_resource_sightings"

    resource_id: Mapped[int] = mapped_column(ForeignKey("storage_resources.id"), primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[StorageResource] = relationship(back_populates="sightings")
