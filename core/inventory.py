"""Creating, changing and removing domain objects, with every rule checked first.

Layer: core. Thread: the database worker's (functions take the session of one unit of work).
These are the model-side halves of admin requests: the scheduler calls them when it plans or
completes jobs, and the CLI, API and GUI reach them through the scheduler or `Inventory`. A
refused request raises a ValidationError, ConflictError or NotFoundError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.confparams import validate_conf_param
from core.errors import ConflictError, NotFoundError, ValidationError
from core.models import (
    ConfParam,
    ConfParamScope,
    Filesystem,
    Host,
    LNetConfiguration,
    OstPool,
    ServerProfile,
    Target,
    TargetKind,
    TargetMount,
    Volume,
    VolumeNode,
)
from core.models.base import Base, SoftDeleted, utcnow
from core.states import HostState
from core.validation import (
    parse_server_address,
    target_name,
    validate_fsname,
    validate_inode_options,
    validate_target_index,
)

Row = TypeVar("Row", bound=Base)

_NOUNS = {
    Host: "server",
    Volume: "volume",
    VolumeNode: "volume node",
    Filesystem: "filesystem",
    Target: "target",
    OstPool: "OST pool",
    ServerProfile: "server profile",
}


def get_live(session: Session, model: type[Row], ident: int) -> Row:
    """The live row of `model` with id `ident`, or a NotFoundError saying so."""
    row = session.get(model, ident)
    noun = _NOUNS.get(model, model.__tablename__)
    if row is None:
        raise NotFoundError(f"There is no {noun} with id {ident}.")
    if isinstance(row, SoftDeleted) and not row.is_live:
        raise NotFoundError(f"The {noun} with id {ident} was removed.")
    return row


def add_host(session: Session, address: str, profile: str | None = None) -> Host:
    """A new, unconfigured server at `address` (its agent pairs with us later)."""
    parsed = str(parse_server_address(address))
    existing = session.scalar(select(Host).where(Host.address == parsed, Host.deleted_at.is_(None)))
    if existing is not None:
        raise ConflictError(
            f"The server {parsed} is already managed (id {existing.id}, {existing.state}).",
            hint="Remove it first if you mean to add it again.",
        )
    server_profile = _profile(session, profile)
    host = Host(
        address=parsed,
        profile=server_profile,
        monitor_only=not server_profile.managed if server_profile else False,
    )
    host.lnet = LNetConfiguration()
    session.add(host)
    session.flush()
    return host


def set_host_profile(session: Session, host: Host, profile: str) -> None:
    """Give `host` the profile named `profile`: a monitored profile makes it monitor-only (no
    job ever changes it), a managed one lets the scheduler act on it."""
    server_profile = _profile(session, profile)
    assert server_profile is not None  # a name was given: found, or ValidationError
    host.profile = server_profile
    host.monitor_only = not server_profile.managed
    session.flush()


def _profile(session: Session, name: str | None) -> ServerProfile | None:
    if name is None:
        return session.scalar(select(ServerProfile).where(ServerProfile.default.is_(True)))
    profile = session.scalar(select(ServerProfile).where(ServerProfile.name == name))
    if profile is None:
        known = session.scalars(select(ServerProfile.name).order_by(ServerProfile.name)).all()
        raise ValidationError("server profile", name, f"choose one of {', '.join(known)}")
    return profile


def delete_host(session: Session, host: Host) -> None:
    """Forget a server whose targets are gone. Refused while it still serves live targets."""
    served = sorted({mount.target.name for mount in host.target_mounts if mount.target.is_live})
    if served:
        raise ConflictError(
            f"The server {host.label} still serves {', '.join(served)}.",
            hint="Remove those targets, or let them fail over to other servers, before removing "
            "the server.",
        )
    now = utcnow()
    for node in host.volume_nodes:
        if node.is_live:
            node.deleted_at = now
    host.state = HostState.REMOVED
    host.state_modified_at = now
    host.deleted_at = now


def add_volume(
    session: Session,
    *,
    serial: str | None,
    size_bytes: int | None,
    label: str | None = None,
) -> Volume:
    if serial is not None:
        clash = session.scalar(
            select(Volume).where(Volume.serial == serial, Volume.deleted_at.is_(None))
        )
        if clash is not None:
            raise ConflictError(f"A volume with serial {serial} exists already (id {clash.id}).")
    volume = Volume(serial=serial, size_bytes=size_bytes, label=label)
    session.add(volume)
    session.flush()
    return volume


def add_volume_node(
    session: Session,
    volume: Volume,
    host: Host,
    path: str,
    *,
    primary: bool = False,
    use: bool = True,
) -> VolumeNode:
    if not host.is_live:
        raise ConflictError(f"The server {host.label} was removed.")
    if any(n.host_id == host.id and n.path == path for n in host.volume_nodes if n.is_live):
        raise ConflictError(f"{host.label} already has a volume at {path}.")
    if primary and any(n.primary for n in volume.live_nodes()):
        raise ConflictError(
            f"Volume {volume.display_name} already has a primary server.",
            hint="Make the other node non-primary first.",
        )
    node = VolumeNode(volume=volume, host=host, path=path, primary=primary, use=use)
    session.add(node)
    session.flush()
    return node


@dataclass(frozen=True)
class InodeOptions:
    inode_size: int | None = None
    bytes_per_inode: int | None = None
    inode_count: int | None = None


def check_volume_usable(volume: Volume) -> None:
    """ConflictError unless `volume` can take a new target: no live target uses it, a managed
    server sees it, and a volume seen by several servers has its primary chosen."""
    users = [t.name for t in volume.targets if t.is_live]
    if users:
        raise ConflictError(f"Volume {volume.display_name} is already used by {users[0]}.")
    nodes = [n for n in volume.live_nodes() if n.host.is_live]
    if not nodes:
        raise ConflictError(f"Volume {volume.display_name} is not seen by any managed server.")
    if len(nodes) > 1 and not any(n.primary for n in nodes):
        raise ConflictError(
            f"Volume {volume.display_name} is seen by {len(nodes)} servers and none is chosen "
            "as its primary.",
            hint="Choose the primary server of the volume first.",
        )


def serving_nodes(volume: Volume) -> list[VolumeNode]:
    """The primary node first, then every used failover node on a live server."""
    nodes = [n for n in volume.live_nodes() if n.host.is_live]
    primary = next((n for n in nodes if n.primary), nodes[0])
    return [primary, *(n for n in nodes if n is not primary and n.use)]


def _mounts_for(target: Target, volume: Volume) -> list[TargetMount]:
    return [
        TargetMount(
            target=target,
            host=node.host,
            volume_node=node,
            mount_point=target.default_mount_point,
            failover_order=order,
        )
        for order, node in enumerate(serving_nodes(volume))
    ]


def create_target(
    session: Session,
    kind: TargetKind,
    volume: Volume,
    *,
    filesystem: Filesystem | None = None,
    index: int | None = None,
    inode: InodeOptions = InodeOptions(),
) -> Target:
    """A new, unformatted target on `volume`, with its mounts; MDT/OST take the filesystem's
    next index unless one is given."""
    check_volume_usable(volume)
    validate_inode_options(
        inode_size=inode.inode_size,
        bytes_per_inode=inode.bytes_per_inode,
        inode_count=inode.inode_count,
        volume_size=volume.size_bytes,
    )
    if kind == TargetKind.MGT:
        if filesystem is not None or index is not None:
            raise ValidationError("MGT", volume.display_name, "an MGT has no filesystem or index")
        primary_host = serving_nodes(volume)[0].host
        if any(
            m.target.kind == TargetKind.MGT and m.target.is_live for m in primary_host.target_mounts
        ):
            raise ConflictError(
                f"The server {primary_host.label} already runs an MGS.",
                hint="Use that MGS for the new filesystem; a server runs at most one.",
            )
        target = Target(kind=kind, name="MGS", index=None, volume=volume)
    else:
        if filesystem is None:
            raise ValidationError(kind.value, volume.display_name, "it needs a filesystem")
        index = _claim_index(filesystem, kind, index)
        target = Target(
            kind=kind,
            name=target_name(filesystem.name, kind.value, index),
            index=index,
            volume=volume,
            filesystem=filesystem,
        )
    target.inode_size = inode.inode_size
    target.bytes_per_inode = inode.bytes_per_inode
    target.inode_count = inode.inode_count
    session.add(target)
    session.add_all(_mounts_for(target, volume))
    session.flush()
    return target


def _claim_index(filesystem: Filesystem, kind: TargetKind, index: int | None) -> int:
    attribute = "mdt_next_index" if kind == TargetKind.MDT else "ost_next_index"
    if index is None:
        index = int(getattr(filesystem, attribute))
    validate_target_index(index)
    holder = next((t for t in filesystem.live_targets(kind) if t.index == index), None)
    if holder is not None:
        raise ConflictError(
            f"{kind.value} index {index} is already used in {filesystem.name} by {holder.name}.",
            hint=f"Choose another index, or leave it out to take {getattr(filesystem, attribute)}.",
        )
    setattr(filesystem, attribute, max(int(getattr(filesystem, attribute)), index + 1))
    return index


def create_filesystem(
    session: Session,
    name: str,
    *,
    mdt_volumes: Sequence[Volume],
    ost_volumes: Sequence[Volume],
    mgs: Target | None = None,
    mgt_volume: Volume | None = None,
    mdt_inode: InodeOptions = InodeOptions(),
    ost_inode: InodeOptions = InodeOptions(),
) -> Filesystem:
    """A new filesystem with its targets, all unformatted: the plan to bring it up is the
    scheduler's. Uses an existing MGS, or makes one on `mgt_volume`."""
    validate_fsname(name)
    if (mgs is None) == (mgt_volume is None):
        raise ValidationError("MGT", None, "give either an existing MGS or a volume for a new MGT")
    if not mdt_volumes:
        raise ValidationError("MDT volumes", [], "a filesystem needs at least one MDT")
    if not ost_volumes:
        raise ValidationError("OST volumes", [], "a filesystem needs at least one OST")
    chosen = [*([mgt_volume] if mgt_volume else []), *mdt_volumes, *ost_volumes]
    repeated = {v.display_name for v in chosen if chosen.count(v) > 1}
    if repeated:
        raise ValidationError(
            "volumes", sorted(repeated), "each volume can hold only one target; pick it once"
        )
    for volume in chosen:
        check_volume_usable(volume)
    if mgs is not None:
        if not mgs.is_live or mgs.kind != TargetKind.MGT:
            raise ValidationError("MGS", mgs.name, "choose a live MGT")
        if mgs.monitor_only:
            raise ConflictError(
                "That MGS is monitor-only: Chroma Desktop did not set it up and cannot add "
                "filesystems to it."
            )
        if any(fs.name == name and fs.is_live for fs in mgs.mgs_filesystems):
            raise ConflictError(
                f"The MGS already serves a filesystem named {name}.",
                hint="Choose another name.",
            )
    else:
        assert mgt_volume is not None
        mgs = create_target(session, TargetKind.MGT, mgt_volume)
    filesystem = Filesystem(name=name, mgs=mgs, mdt_next_index=0, ost_next_index=0)
    session.add(filesystem)
    for volume in mdt_volumes:
        create_target(session, TargetKind.MDT, volume, filesystem=filesystem, inode=mdt_inode)
    for volume in ost_volumes:
        create_target(session, TargetKind.OST, volume, filesystem=filesystem, inode=ost_inode)
    session.flush()
    return filesystem


def set_conf_params(
    session: Session,
    subject: Filesystem | Target,
    params: Mapping[str, str | None],
    *,
    client: bool = False,
) -> int:
    """Save new values (None clears one) as the MGS's next conf param version; returns it.
    Every value is checked before any is saved."""
    if isinstance(subject, Filesystem):
        filesystem, target = subject, None
        mgs = subject.mgs
    else:
        if subject.kind == TargetKind.MGT or subject.filesystem is None:
            raise ValidationError("conf param target", subject.name, "set MDT or OST params only")
        filesystem, target = subject.filesystem, subject
        mgs = subject.filesystem.mgs
    checked: list[tuple[ConfParamScope, str, str | None]] = []
    for key, value in params.items():
        scope = _scope_of(key, subject, client)
        checked.append((scope, key, validate_conf_param(scope, key, value)))
    mgs.conf_param_version += 1
    for scope, key, value in checked:
        session.add(
            ConfParam(
                mgs=mgs,
                scope=scope,
                filesystem=filesystem,
                target=target,
                key=key,
                value=value,
                version=mgs.conf_param_version,
            )
        )
    session.flush()
    return mgs.conf_param_version


def _scope_of(key: str, subject: Filesystem | Target, client: bool) -> ConfParamScope:
    if isinstance(subject, Target):
        return ConfParamScope.MDT if subject.kind == TargetKind.MDT else ConfParamScope.OST
    if key.startswith("sys."):
        return ConfParamScope.FILESYSTEM_GLOBAL
    return ConfParamScope.FILESYSTEM_CLIENT


def current_conf_params(
    session: Session, subject: Filesystem | Target, *, up_to_version: int | None = None
) -> dict[str, str | None]:
    """The newest saved value of every key set on `subject`; with `up_to_version`, as it was
    at that version (the MGT's `conf_param_version_applied`: what the servers were sent)."""
    query = select(ConfParam).order_by(ConfParam.version, ConfParam.id)
    if up_to_version is not None:
        query = query.where(ConfParam.version <= up_to_version)
    if isinstance(subject, Filesystem):
        query = query.where(ConfParam.filesystem_id == subject.id, ConfParam.target_id.is_(None))
    else:
        query = query.where(ConfParam.target_id == subject.id)
    return {row.key: row.value for row in session.scalars(query)}
