"""Frozen snapshots of domain objects: what layers above core receive instead of ORM rows.

Layer: core. Thread: any (immutable). Build them inside a session with the `*_record` functions;
they stay valid after the session ends and can cross threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.models import Filesystem, HaStatus, Host, Target, TargetKind, Volume, VolumeNode
from core.states import FilesystemState, HostState, LNetState, TargetState


@dataclass(frozen=True)
class HostRecord:
    id: int
    address: str
    label: str
    fqdn: str | None
    nodename: str | None
    state: HostState
    lnet_state: LNetState
    nids: tuple[str, ...]
    profile: str | None
    monitor_only: bool
    paired: bool
    cert_fingerprint: str | None
    agent_version: str | None
    last_contact: datetime | None


@dataclass(frozen=True)
class VolumeNodeRecord:
    id: int
    host_id: int
    host_label: str
    path: str
    primary: bool
    use: bool


@dataclass(frozen=True)
class VolumeRecord:
    id: int
    name: str
    serial: str | None
    size_bytes: int | None
    ha_status: HaStatus
    in_use_by: str | None
    """The name of the live target on it, if any."""
    nodes: tuple[VolumeNodeRecord, ...]


@dataclass(frozen=True)
class TargetRecord:
    id: int
    kind: TargetKind
    name: str
    index: int | None
    filesystem_id: int | None
    volume_id: int
    state: TargetState
    uuid: str | None
    monitor_only: bool
    primary_host_id: int | None
    failover_host_ids: tuple[int, ...]
    active_host_id: int | None


@dataclass(frozen=True)
class FilesystemRecord:
    id: int
    name: str
    state: FilesystemState
    monitor_only: bool
    mgs_id: int
    mdt_ids: tuple[int, ...]
    ost_ids: tuple[int, ...]
    mount_path: str | None
    """host NIDs:…:/fsname as clients mount it, once the MGS servers' NIDs are known."""


def host_record(host: Host) -> HostRecord:
    lnet = host.lnet
    return HostRecord(
        id=host.id,
        address=host.address,
        label=host.label,
        fqdn=host.fqdn,
        nodename=host.nodename,
        state=host.state,
        lnet_state=lnet.state if lnet else LNetState.UNKNOWN,
        nids=tuple(sorted(nid.nid_string for nid in lnet.nids)) if lnet else (),
        profile=host.profile.name if host.profile else None,
        monitor_only=host.monitor_only,
        paired=host.cert_fingerprint is not None,
        cert_fingerprint=host.cert_fingerprint,
        agent_version=host.agent_version,
        last_contact=host.last_contact,
    )


def volume_node_record(node: VolumeNode) -> VolumeNodeRecord:
    return VolumeNodeRecord(
        id=node.id,
        host_id=node.host_id,
        host_label=node.host.label,
        path=node.path,
        primary=node.primary,
        use=node.use,
    )


def volume_record(volume: Volume) -> VolumeRecord:
    users = [target.name for target in volume.targets if target.is_live]
    return VolumeRecord(
        id=volume.id,
        name=volume.display_name,
        serial=volume.serial,
        size_bytes=volume.size_bytes,
        ha_status=volume.ha_status,
        in_use_by=users[0] if users else None,
        nodes=tuple(volume_node_record(node) for node in volume.live_nodes()),
    )


def target_record(target: Target) -> TargetRecord:
    primary = target.primary_mount
    active = target.active_mount
    return TargetRecord(
        id=target.id,
        kind=target.kind,
        name=target.name,
        index=target.index,
        filesystem_id=target.filesystem_id,
        volume_id=target.volume_id,
        state=target.state,
        uuid=target.uuid,
        monitor_only=target.monitor_only,
        primary_host_id=primary.host_id if primary else None,
        failover_host_ids=tuple(m.host_id for m in target.mounts if not m.is_primary),
        active_host_id=active.host_id if active else None,
    )


def mount_path(filesystem: Filesystem) -> str | None:
    """NIDs of each server that can run the MGS (primary first), comma-joined per server and
    colon-joined across servers, then :/fsname; None while some server's NIDs are unknown."""
    groups = []
    for mount in filesystem.mgs.mounts:
        lnet = mount.host.lnet
        if lnet is None or not lnet.nids:
            return None
        groups.append(",".join(sorted(nid.nid_string for nid in lnet.nids)))
    if not groups:
        return None
    return f"{':'.join(groups)}:/{filesystem.name}"


def filesystem_record(filesystem: Filesystem) -> FilesystemRecord:
    return FilesystemRecord(
        id=filesystem.id,
        name=filesystem.name,
        state=filesystem.state,
        monitor_only=filesystem.monitor_only,
        mgs_id=filesystem.mgs_id,
        mdt_ids=tuple(t.id for t in filesystem.live_targets(TargetKind.MDT)),
        ost_ids=tuple(t.id for t in filesystem.live_targets(TargetKind.OST)),
        mount_path=mount_path(filesystem),
    )
