"""Read models of filesystems, their targets and the volumes a new filesystem can be made from:
what the Filesystems and Targets screens and the create-filesystem wizard show.

Layer: core. Thread: the caller's session's (the database worker in the desktop). Every
function takes a session and returns frozen records; ORM rows never leave. Which volumes are
usable is decided by the same check `inventory.create_filesystem` applies, so the wizard never
offers a volume the scheduler would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import inventory
from core.errors import ConflictError
from core.models import (
    Alert,
    AlertKind,
    Filesystem,
    HaStatus,
    Target,
    TargetKind,
    TargetMount,
    Volume,
    VolumeNode,
)
from core.records import mount_path
from core.states import FilesystemState, TargetState

TARGET_SUBJECT = "target"
"""How alerts name a target (`core.alerts.TARGET`)."""


@dataclass(frozen=True)
class VolumeChoice:
    """A volume that can hold a new target now."""

    id: int
    name: str
    size_bytes: int | None
    primary: str
    """The server the target will normally run on."""
    failover: tuple[str, ...]
    ha_status: HaStatus

    @property
    def summary(self) -> str:
        """ "<name> (<capacity>) on <primary>", as the wizard shows a pick."""
        return f"{self.name} ({format_bytes(self.size_bytes)}) on {self.primary}"


@dataclass(frozen=True)
class MgsChoice:
    """An existing MGS a new filesystem can register with."""

    id: int
    server: str
    filesystems: tuple[str, ...]

    @property
    def summary(self) -> str:
        serves = ", ".join(self.filesystems) if self.filesystems else "no filesystem yet"
        return f"MGS on {self.server} (serves {serves})"


@dataclass(frozen=True)
class FilesystemChoices:
    """What the create-filesystem wizard offers."""

    volumes: tuple[VolumeChoice, ...]
    mgss: tuple[MgsChoice, ...]


@dataclass(frozen=True)
class FilesystemRow:
    id: int
    name: str
    state: FilesystemState
    monitor_only: bool
    mgs_server: str
    mdts: tuple[str, ...]
    ost_count: int
    size_bytes: int | None
    """The sum of its OSTs' volumes; None while a size is unknown."""
    mount_path: str | None
    """MGS NIDs:/fsname; None while the MGS servers' NIDs are unknown."""

    @property
    def mount_command(self) -> str | None:
        if self.mount_path is None:
            return None
        return f"mount -t lustre {self.mount_path} /mnt/{self.name}"


@dataclass(frozen=True)
class TargetRow:
    id: int
    name: str
    kind: TargetKind
    filesystem: str
    """Its filesystem's name; for an MGT the names of the filesystems it serves."""
    filesystem_ids: tuple[int, ...]
    state: TargetState
    volume: str
    size_bytes: int | None
    primary: str
    failover: tuple[str, ...]
    active: str | None
    """The server it runs on now, as the agents report it."""
    recovering: bool
    monitor_only: bool


def format_bytes(size: int | None) -> str:
    """Capacity as people read it: 1.5 TiB, 931 GiB; "unknown" without a size."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _usable(volume: Volume) -> bool:
    try:
        inventory.check_volume_usable(volume)
    except ConflictError:
        return False
    return True


def usable_volumes(session: Session) -> list[VolumeChoice]:
    """Volumes with no live target, seen by a live server, with a primary chosen when shared;
    ordered by name."""
    volumes = session.scalars(
        select(Volume)
        .where(Volume.deleted_at.is_(None))
        .options(
            selectinload(Volume.nodes).selectinload(VolumeNode.host),
            selectinload(Volume.targets),
        )
    )
    choices = []
    for volume in volumes:
        if not _usable(volume):
            continue
        nodes = inventory.serving_nodes(volume)
        choices.append(
            VolumeChoice(
                id=volume.id,
                name=volume.display_name,
                size_bytes=volume.size_bytes,
                primary=nodes[0].host.label,
                failover=tuple(node.host.label for node in nodes[1:]),
                ha_status=volume.ha_status,
            )
        )
    return sorted(choices, key=lambda v: (v.name, v.id))


def filesystem_choices(session: Session) -> FilesystemChoices:
    """Usable volumes and the managed MGSs a new filesystem can use."""
    mgts = session.scalars(
        select(Target)
        .where(
            Target.deleted_at.is_(None),
            Target.kind == TargetKind.MGT,
            Target.monitor_only.is_(False),
        )
        .options(
            selectinload(Target.mounts).selectinload(TargetMount.host),
            selectinload(Target.mgs_filesystems),
        )
        .order_by(Target.id)
    )
    mgss = tuple(
        MgsChoice(
            id=mgt.id,
            server=_primary_label(mgt),
            filesystems=tuple(sorted(fs.name for fs in mgt.mgs_filesystems if fs.is_live)),
        )
        for mgt in mgts
    )
    return FilesystemChoices(tuple(usable_volumes(session)), mgss)


def _primary_label(target: Target) -> str:
    primary = target.primary_mount
    return primary.host.label if primary is not None else "no server"


def filesystem_rows(session: Session) -> list[FilesystemRow]:
    """Every live filesystem, by name."""
    filesystems = session.scalars(
        select(Filesystem)
        .where(Filesystem.deleted_at.is_(None))
        .options(selectinload(Filesystem.targets).selectinload(Target.volume))
        .order_by(Filesystem.name, Filesystem.id)
    )
    rows = []
    for filesystem in filesystems:
        osts = filesystem.live_targets(TargetKind.OST)
        sizes = [ost.volume.size_bytes for ost in osts]
        rows.append(
            FilesystemRow(
                id=filesystem.id,
                name=filesystem.name,
                state=filesystem.state,
                monitor_only=filesystem.monitor_only,
                mgs_server=_active_or_primary(filesystem.mgs),
                mdts=tuple(t.name for t in filesystem.live_targets(TargetKind.MDT)),
                ost_count=len(osts),
                size_bytes=None if None in sizes else sum(s for s in sizes if s is not None),
                mount_path=mount_path(filesystem),
            )
        )
    return rows


def _active_or_primary(target: Target) -> str:
    active = target.active_mount
    return active.host.label if active is not None else _primary_label(target)


def target_rows(session: Session, filesystem_id: int | None = None) -> list[TargetRow]:
    """Every live target (or those of one filesystem, its MGS first), by filesystem and name."""
    query = select(Target).where(Target.deleted_at.is_(None))
    if filesystem_id is not None:
        filesystem = inventory.get_live(session, Filesystem, filesystem_id)
        query = query.where(
            (Target.filesystem_id == filesystem_id) | (Target.id == filesystem.mgs_id)
        )
    targets = session.scalars(
        query.options(
            selectinload(Target.mounts).selectinload(TargetMount.host),
            selectinload(Target.volume).selectinload(Volume.nodes).selectinload(VolumeNode.host),
            selectinload(Target.filesystem),
            selectinload(Target.mgs_filesystems),
        )
    ).all()
    recovering = set(
        session.scalars(
            select(Alert.subject_id).where(
                Alert.kind == AlertKind.RECOVERY_IN_PROGRESS,
                Alert.subject_kind == TARGET_SUBJECT,
                Alert.cleared_at.is_(None),
            )
        )
    )
    order = {TargetKind.MGT: 0, TargetKind.MDT: 1, TargetKind.OST: 2}
    rows = []
    for target in targets:
        if target.kind == TargetKind.MGT:
            served = sorted((fs for fs in target.mgs_filesystems if fs.is_live), key=_fs_name)
            names, ids = tuple(fs.name for fs in served), tuple(fs.id for fs in served)
        elif target.filesystem is not None:
            names, ids = (target.filesystem.name,), (target.filesystem.id,)
        else:
            names, ids = (), ()
        active = target.active_mount
        rows.append(
            TargetRow(
                id=target.id,
                name=target.name,
                kind=target.kind,
                filesystem=", ".join(names),
                filesystem_ids=ids,
                state=target.state,
                volume=target.volume.display_name,
                size_bytes=target.volume.size_bytes,
                primary=_primary_label(target),
                failover=tuple(m.host.label for m in target.mounts if not m.is_primary),
                active=active.host.label if active is not None else None,
                recovering=target.id in recovering,
                monitor_only=target.monitor_only,
            )
        )
    rows.sort(key=lambda r: (r.filesystem, order[r.kind], r.name, r.id))
    return rows


def _fs_name(filesystem: Filesystem) -> str:
    return filesystem.name
