"""What plugins reported, kept in the database: resources, volumes and volume nodes with their
HA pairing, network interfaces and NIDs.

Layer: plugins (the one plugins module that touches ORM rows, inside the session it is given;
nothing it returns is an ORM row). Thread: the database worker's.

Volumes follow the resource graph: a device node with nothing built on it becomes a volume node
of the volume of its nearest logical drive, unless something (a local filesystem) occupies that
drive. A drive reported by two servers is one resource, hence one volume with two nodes. When a
volume without a target gains nodes its primary and failover are chosen again: the primary on
the server with the fewest primaries, the failover on the one with the fewest used nodes, ties
broken by server name, so the result does not depend on which server reported first. Nothing is
deleted for going unreported: the resource is marked missing and its volume node stays.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.models import (
    Host,
    LNetConfiguration,
    NetworkInterface,
    Nid,
    StorageResource,
    StorageResourceSighting,
    Volume,
    VolumeNode,
)
from plugins.api import (
    DeviceNode,
    JsonValue,
    LNetNidResource,
    LogicalDrive,
    LogicalDriveOccupier,
    NetworkInterfaceResource,
    Resource,
)


class ChangeKind(StrEnum):
    RESOURCE_ADDED = "resource added"
    RESOURCE_UPDATED = "resource updated"
    RESOURCE_MISSING = "resource missing"
    RESOURCE_BACK = "resource back"
    VOLUME_ADDED = "volume added"
    VOLUME_REMOVED = "volume removed"
    VOLUME_NODE_ADDED = "volume node added"
    VOLUME_NODE_REMOVED = "volume node removed"
    PRIMARY_CHOSEN = "primary chosen"
    INTERFACE_ADDED = "interface added"
    INTERFACE_UPDATED = "interface updated"
    NID_ADDED = "NID added"
    NID_REMOVED = "NID removed"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    subject: str
    """What changed, as an admin would name it ("sim-oss1:/dev/disk/by-id/scsi-X")."""
    detail: str = ""


@dataclass(frozen=True)
class ResourceRecord:
    """A stored resource, for views and tests."""

    id: int
    plugin: str
    resource_class: str
    label: str
    identifier: tuple[JsonValue, ...]
    scope_host_id: int | None
    attributes: dict[str, JsonValue]
    reported_by: tuple[int, ...]
    missing_since: datetime | None
    parent_ids: tuple[int, ...]
    volume_id: int | None
    volume_node_id: int | None


@dataclass(frozen=True)
class MissingDevice:
    """A device path of a volume that its server no longer reports."""

    host_id: int
    path: str
    volume_id: int
    volume_node_id: int
    since: datetime
    used_by_target: str | None


class Recorder:
    """Collects the changes and warnings of one report."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.warnings: list[str] = []

    def change(self, kind: ChangeKind, subject: str, detail: str = "") -> None:
        self.changes.append(Change(kind, subject, detail))


Rows = dict[int, StorageResource]
"""id() of a reported Resource → its row."""


def persist_resources(
    session: Session,
    host: Host,
    plugin: str,
    kind: str,
    resources: Sequence[Resource],
    *,
    cull: bool,
    now: datetime,
    recorder: Recorder,
) -> Rows:
    """Store one plugin's scan of one report; with `cull`, what `host` reported in an earlier
    report of this kind and not now loses this host's sighting (missing once nobody sees it)."""
    loaded = selectinload(StorageResource.sightings), selectinload(StorageResource.parents)
    known: dict[tuple[str, int | None, str], StorageResource] = {}

    def index(rows: Iterable[StorageResource]) -> None:
        for row in rows:
            known[(row.resource_class, row.scope_host_id, row.identifier)] = row

    index(
        session.scalars(
            select(StorageResource)
            .where(StorageResource.plugin == plugin, StorageResource.scope_host_id == host.id)
            .options(*loaded)
        )
    )
    sighted = list(
        session.scalars(
            select(StorageResource)
            .join(StorageResourceSighting)
            .where(
                StorageResource.plugin == plugin,
                StorageResource.report_kind == kind,
                StorageResourceSighting.host_id == host.id,
            )
            .options(*loaded)
        )
    )
    index(sighted)
    wanted_global = {r.identity_key() for r in resources if not r.is_scoped()} - {
        key[2] for key in known if key[1] is None
    }
    if wanted_global:
        index(
            session.scalars(
                select(StorageResource)
                .where(
                    StorageResource.plugin == plugin,
                    StorageResource.scope_host_id.is_(None),
                    StorageResource.identifier.in_(sorted(wanted_global)),
                )
                .options(*loaded)
            )
        )

    rows: Rows = {}
    for resource in resources:
        scope = host.id if resource.is_scoped() else None
        key = (type(resource).__name__, scope, resource.identity_key())
        row = known.get(key)
        label = resource.get_label()[:255]
        attributes = resource.attribute_json()
        if row is None:
            row = StorageResource(
                plugin=plugin,
                resource_class=key[0],
                identifier=key[2],
                scope_host_id=scope,
                report_kind=kind,
                label=label,
                attributes=attributes,
                first_seen=now,
                missing_since=None,
            )
            row.sightings = []
            row.parents = []
            session.add(row)
            known[key] = row
            recorder.change(ChangeKind.RESOURCE_ADDED, label, f"{plugin} {key[0]}")
        else:
            if row.attributes != attributes or row.label != label:
                row.attributes = attributes
                row.label = label
                recorder.change(ChangeKind.RESOURCE_UPDATED, label, f"{plugin} {key[0]}")
            if row.missing_since is not None:
                row.missing_since = None
                recorder.change(ChangeKind.RESOURCE_BACK, label, f"reported again by {host.label}")
        if not any(s.host_id == host.id for s in row.sightings):
            row.sightings.append(StorageResourceSighting(host_id=host.id, since=now))
        rows[id(resource)] = row

    for resource in resources:
        row = rows[id(resource)]
        wanted = [rows[id(parent)] for parent in resource.parents]
        for parent in list(row.parents):
            ours = row.scope_host_id == host.id or parent.scope_host_id == host.id
            if parent.plugin == plugin and ours and parent not in wanted:
                row.parents.remove(parent)
        for parent in wanted:
            if parent not in row.parents:
                row.parents.append(parent)

    if cull:
        reported = {id(row) for row in rows.values()}
        for row in sighted:
            if id(row) in reported:
                continue
            row.sightings = [s for s in row.sightings if s.host_id != host.id]
            if not row.sightings and row.missing_since is None:
                row.missing_since = now
                recorder.change(
                    ChangeKind.RESOURCE_MISSING, row.label, f"no longer reported by {host.label}"
                )
    session.flush()
    return rows


def derive_volumes(
    session: Session,
    host: Host,
    resources: Sequence[Resource],
    rows: Rows,
    *,
    now: datetime,
    recorder: Recorder,
) -> None:
    """Volumes and volume nodes of `host` from the device resources it just reported."""
    children: dict[int, list[Resource]] = defaultdict(list)
    for resource in resources:
        for parent in resource.parents:
            children[id(parent)].append(resource)

    def occupied(drive: Resource) -> bool:
        stack, seen = [drive], set()
        while stack:
            item = stack.pop()
            for child in children[id(item)]:
                if isinstance(child, LogicalDriveOccupier):
                    return True
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        return False

    by_drive: dict[int, tuple[LogicalDrive, list[DeviceNode]]] = {}
    for node in resources:
        if not isinstance(node, DeviceNode):
            continue
        if any(not isinstance(c, LogicalDriveOccupier) for c in children[id(node)]):
            continue  # something is built on it: that is the candidate
        drive = next((a for a in node.ancestors() if isinstance(a, LogicalDrive)), None)
        if drive is None or occupied(drive):
            continue
        by_drive.setdefault(id(drive), (drive, []))[1].append(node)

    used_nodes: set[int] = set()
    gained: dict[int, Volume] = {}
    for drive, nodes in sorted(by_drive.values(), key=lambda item: item[0].identity_key()):
        mapper = [n for n in nodes if n.path.startswith("/dev/mapper/")]
        if len(mapper) == 1:
            nodes = mapper
        elif len(nodes) > 1:
            recorder.warnings.append(
                f"{host.label} sees {drive.get_label()} at {len(nodes)} paths "
                f"({', '.join(sorted(n.path for n in nodes))}); each is offered."
            )
        volume = _volume_for(session, drive, rows[id(drive)], nodes[0], recorder)
        for node in sorted(nodes, key=lambda n: n.path):
            row = rows[id(node)]
            volume_node, added = _node_for(session, host, volume, node.path, row, now, recorder)
            used_nodes.add(volume_node.id)
            if row.volume_node is not volume_node:
                row.volume_node = volume_node
            if added:
                gained[volume.id] = volume

    # Reported again, but no longer a usable leaf (now partitioned, or now holds a filesystem).
    for resource in resources:
        row = rows[id(resource)]
        stale = row.volume_node
        if not isinstance(resource, DeviceNode) or stale is None or stale.id in used_nodes:
            continue
        if not stale.is_live:
            continue
        target = _target_of(stale.volume)
        if target is not None:
            recorder.warnings.append(
                f"{host.label}:{stale.path} is no longer a usable device, but {target} is on "
                "it: its path is kept."
            )
            continue
        stale.deleted_at = now
        row.volume_node = None
        recorder.change(ChangeKind.VOLUME_NODE_REMOVED, f"{host.label}:{stale.path}")
        if not stale.volume.live_nodes():
            stale.volume.deleted_at = now
            recorder.change(ChangeKind.VOLUME_REMOVED, _volume_name(stale.volume))
    session.flush()
    if gained:
        order = sorted(gained.values(), key=lambda v: (v.serial is None, v.serial or "", v.id))
        _choose_primaries(session, order, recorder)
        session.flush()


def _volume_for(
    session: Session,
    drive: LogicalDrive,
    row: StorageResource,
    node: DeviceNode,
    recorder: Recorder,
) -> Volume:
    volume = row.volume if row.volume is not None and row.volume.is_live else None
    serial = drive.volume_serial()
    if volume is None and serial is not None:
        volume = session.scalar(
            select(Volume).where(Volume.serial == serial, Volume.deleted_at.is_(None))
        )
    if volume is None:
        volume = Volume(serial=serial, size_bytes=drive.size, filesystem_type=node.filesystem)
        session.add(volume)
        session.flush()
        recorder.change(ChangeKind.VOLUME_ADDED, _volume_name(volume, drive.get_label()))
    else:
        if drive.size is not None and volume.size_bytes != drive.size:
            volume.size_bytes = drive.size
        if volume.filesystem_type != node.filesystem:
            volume.filesystem_type = node.filesystem
    if row.volume is not volume:
        row.volume = volume
    return volume


def _node_for(
    session: Session,
    host: Host,
    volume: Volume,
    path: str,
    row: StorageResource,
    now: datetime,
    recorder: Recorder,
) -> tuple[VolumeNode, bool]:
    """The live volume node of `path` on `host` for `volume`, and whether it is new."""
    node = row.volume_node if row.volume_node is not None and row.volume_node.is_live else None
    if node is None:
        node = session.scalar(
            select(VolumeNode).where(
                VolumeNode.host_id == host.id,
                VolumeNode.path == path,
                VolumeNode.deleted_at.is_(None),
            )
        )
    if node is not None and node.volume_id != volume.id:
        target = _target_of(node.volume)
        if target is not None:
            recorder.warnings.append(
                f"{host.label}:{path} now shows another device than the one {target} was "
                "created on; check the server's storage before starting it."
            )
            return node, False
        node.deleted_at = now
        recorder.change(ChangeKind.VOLUME_NODE_REMOVED, f"{host.label}:{path}", "device changed")
        node = None
    if node is not None:
        return node, False
    node = VolumeNode(volume=volume, host=host, path=path, primary=False, use=False)
    session.add(node)
    session.flush()
    recorder.change(ChangeKind.VOLUME_NODE_ADDED, f"{host.label}:{path}", _volume_name(volume))
    return node, True


def _target_of(volume: Volume) -> str | None:
    return next((t.name for t in volume.targets if t.is_live), None)


def _volume_name(volume: Volume, fallback: str | None = None) -> str:
    if volume.label:
        return volume.label
    if volume.serial:
        return volume.serial
    return fallback or f"volume {volume.id}"


def _choose_primaries(session: Session, volumes: Sequence[Volume], recorder: Recorder) -> None:
    live = session.scalars(
        select(VolumeNode)
        .join(Host, Host.id == VolumeNode.host_id)
        .where(VolumeNode.deleted_at.is_(None), Host.deleted_at.is_(None))
    ).all()
    per_volume: dict[int, list[VolumeNode]] = defaultdict(list)
    for node in live:
        per_volume[node.volume_id].append(node)
    primaries: dict[int, int] = defaultdict(int)
    used: dict[int, int] = defaultdict(int)

    def count(nodes: Sequence[VolumeNode], sign: int) -> None:
        for node in nodes:
            if len(nodes) > 1 and node.primary:
                primaries[node.host_id] += sign
            if node.use:
                used[node.host_id] += sign

    choosing = {v.id for v in volumes if _target_of(v) is None}
    for volume_id, nodes in per_volume.items():
        if volume_id not in choosing:
            count(nodes, 1)
    for volume in volumes:
        if volume.id not in choosing:
            continue  # a target's servers are changed on the target, not here
        nodes = sorted(per_volume[volume.id], key=lambda n: (n.host.label, n.host_id, n.path))
        if not nodes:
            continue
        primary = min(nodes, key=lambda n: (primaries[n.host_id], n.host.label, n.host_id))
        rest = [n for n in nodes if n is not primary]
        secondary = min(
            rest, key=lambda n: (used[n.host_id], n.host.label, n.host_id), default=None
        )
        for node in nodes:
            node.primary = node is primary
            node.use = node is primary or node is secondary
        count(nodes, 1)
        detail = f"primary {primary.host.label}"
        if secondary is not None:
            detail += f", failover {secondary.host.label}"
        recorder.change(ChangeKind.PRIMARY_CHOSEN, _volume_name(volume), detail)


def apply_network(
    session: Session,
    host: Host,
    resources: Sequence[Resource],
    *,
    nids_reported: bool,
    interfaces_reported: bool,
    recorder: Recorder,
) -> None:
    """The host's NetworkInterface and Nid rows made to match what was just reported."""
    interfaces = {i.name: i for i in host.interfaces}
    if interfaces_reported:
        seen = set()
        for resource in resources:
            if not isinstance(resource, NetworkInterfaceResource):
                continue
            seen.add(resource.name)
            values = {
                "mac_address": resource.mac_address,
                "inet4_address": resource.inet4_address,
                "inet6_address": resource.inet6_address,
                "network_type": resource.network_type,
                "is_up": resource.is_up,
            }
            row = interfaces.get(resource.name)
            if row is None:
                row = NetworkInterface(name=resource.name, **values)
                host.interfaces.append(row)
                interfaces[resource.name] = row
                recorder.change(ChangeKind.INTERFACE_ADDED, f"{host.label}:{resource.name}")
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                recorder.change(ChangeKind.INTERFACE_UPDATED, f"{host.label}:{resource.name}")
        for name, row in interfaces.items():
            if name not in seen and row.is_up:
                row.is_up = False
                recorder.change(ChangeKind.INTERFACE_UPDATED, f"{host.label}:{name}", "gone")
    if nids_reported:
        if host.lnet is None:
            host.lnet = LNetConfiguration()
        lnet = host.lnet
        wanted = sorted({r.nid for r in resources if isinstance(r, LNetNidResource)})
        by_address = {i.inet4_address: i for i in interfaces.values() if i.inet4_address}
        for nid in list(lnet.nids):
            if nid.nid_string not in wanted:
                lnet.nids.remove(nid)
                recorder.change(ChangeKind.NID_REMOVED, f"{host.label}:{nid.nid_string}")
        have = {n.nid_string for n in lnet.nids}
        for nid_string in wanted:
            if nid_string not in have:
                interface = by_address.get(nid_string.split("@", 1)[0])
                lnet.nids.append(Nid(nid_string=nid_string, interface=interface))
                recorder.change(ChangeKind.NID_ADDED, f"{host.label}:{nid_string}")
    session.flush()


def resource_records(session: Session, plugin: str | None = None) -> list[ResourceRecord]:
    """Every stored resource (of one plugin), oldest first."""
    query = (
        select(StorageResource)
        .options(selectinload(StorageResource.sightings), selectinload(StorageResource.parents))
        .order_by(StorageResource.id)
    )
    if plugin is not None:
        query = query.where(StorageResource.plugin == plugin)
    return [
        ResourceRecord(
            id=row.id,
            plugin=row.plugin,
            resource_class=row.resource_class,
            label=row.label,
            identifier=tuple(json.loads(row.identifier)),
            scope_host_id=row.scope_host_id,
            attributes=dict(row.attributes),
            reported_by=tuple(sorted(s.host_id for s in row.sightings)),
            missing_since=row.missing_since,
            parent_ids=tuple(sorted(p.id for p in row.parents)),
            volume_id=row.volume_id,
            volume_node_id=row.volume_node_id,
        )
        for row in session.scalars(query)
    ]


def missing_devices(session: Session) -> list[MissingDevice]:
    """Volume nodes whose device their server no longer reports (for a "storage device
    missing" alert)."""
    rows = session.scalars(
        select(StorageResource)
        .where(
            StorageResource.missing_since.is_not(None),
            StorageResource.volume_node_id.is_not(None),
        )
        .order_by(StorageResource.id)
    )
    found = []
    for row in rows:
        node = row.volume_node
        assert node is not None and row.missing_since is not None
        if node.is_live:
            found.append(
                MissingDevice(
                    host_id=node.host_id,
                    path=node.path,
                    volume_id=node.volume_id,
                    volume_node_id=node.id,
                    since=row.missing_since,
                    used_by_target=_target_of(node.volume),
                )
            )
    return found
