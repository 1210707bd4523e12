"""Volumes as an admin sees them: each with its size, the servers that see it (primary, failover,
or not used), its HA status and the target on it, ready for a table, the CLI or the API.

Layer: core. Thread: the caller's session's (the database worker in the desktop). Rows are built
from `core.records.volume_record`, so what "in use", "HA status" and "live node" mean is decided
once, in the models; this module only adds the reading an admin needs (who is primary, who
fails over, sizes as `core.queries.filesystems.format_bytes` writes them everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.models import HaStatus, Volume, VolumeNode
from core.queries.filesystems import format_bytes
from core.records import VolumeNodeRecord, volume_record

HA_STATUS_TEXT: dict[HaStatus, str] = {
    HaStatus.CONFIGURED_HA: "Configured (HA)",
    HaStatus.CONFIGURED_NOHA: "Configured (no HA)",
    HaStatus.UNCONFIGURED: "Unconfigured",
}


@dataclass(frozen=True)
class VolumePath:
    """How one server sees a volume."""

    server: str
    path: str
    role: str
    """PRIMARY, FAILOVER, UNCHOSEN (it may mount it, but no server is primary yet) or UNUSED."""


@dataclass(frozen=True)
class VolumeSummary:
    id: int
    name: str
    serial: str | None
    size_bytes: int | None
    ha_status: HaStatus
    target: str | None
    """The name of the live target on it, if any."""
    primary_server: str | None
    failover_servers: tuple[str, ...]
    paths: tuple[VolumePath, ...]
    """Primary first, then failover servers, then the others, by role as `VolumePath.role`."""

    @property
    def ha_text(self) -> str:
        return HA_STATUS_TEXT.get(self.ha_status, str(self.ha_status))

    @property
    def size(self) -> str:
        return format_bytes(self.size_bytes)

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(path.server for path in self.paths))


PRIMARY, FAILOVER, UNCHOSEN, UNUSED = "primary", "failover", "no primary chosen", "not used"
_ROLE_ORDER = {PRIMARY: 0, FAILOVER: 1, UNCHOSEN: 2, UNUSED: 3}


def _role(node: VolumeNodeRecord, has_primary: bool) -> str:
    if node.primary:
        return PRIMARY
    if not node.use:
        return UNUSED
    return FAILOVER if has_primary else UNCHOSEN


def _summary(volume: Volume) -> VolumeSummary:
    record = volume_record(volume)
    removed = {node.id for node in volume.nodes if not node.host.is_live}  # servers removed
    live = [node for node in record.nodes if node.id not in removed]
    has_primary = any(node.primary for node in live)
    roles = {node.id: _role(node, has_primary) for node in live}
    nodes = sorted(live, key=lambda n: (_ROLE_ORDER[roles[n.id]], n.host_label, n.path))
    primary = next((node.host_label for node in nodes if node.primary), None)
    failovers = tuple(
        dict.fromkeys(node.host_label for node in nodes if roles[node.id] == FAILOVER)
    )
    return VolumeSummary(
        id=record.id,
        name=record.name,
        serial=record.serial,
        size_bytes=record.size_bytes,
        ha_status=record.ha_status,
        target=record.in_use_by,
        primary_server=primary,
        failover_servers=failovers,
        paths=tuple(VolumePath(node.host_label, node.path, roles[node.id]) for node in nodes),
    )


def list_volumes(session: Session) -> list[VolumeSummary]:
    """Every volume that has not been removed, by name."""
    volumes = session.scalars(
        select(Volume)
        .where(Volume.deleted_at.is_(None))
        .options(
            selectinload(Volume.nodes).selectinload(VolumeNode.host),
            selectinload(Volume.targets),
        )
    )
    return sorted((_summary(volume) for volume in volumes), key=lambda v: (v.name, v.id))
