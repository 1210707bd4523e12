"""Lustre filesystems found running on servers where Chroma Desktop did not set them up, imported
as monitor-only objects: the successor of IML's DetectTargetsJob, run from every agent report.

Layer: core. Thread: the database worker's (`Scheduler.observe` calls it inside its unit of
work, before it corrects states). A mounted target whose device the model does not know on the
reporting server becomes a monitor-only target on the volume the storage plugins made of that
device, with a mount on that server where it runs now; its filesystem is found or created as a
monitor-only filesystem. Monitor-only objects offer nothing but removal from the manager and no
job ever changes them; their states follow the reports like any other object's.

What identifies a filesystem: its name and its MGS. The MGS of a reported MDT or OST is the
model's MGT that runs on a server holding one of the MGS NIDs written on the target's disk
(`mkfs.lustre --mgsnode`), when the agent reports them. When it does not, the MGS is the one
running on the same server, else the MGS of the only live filesystem of that name, else the only
MGT the model has. A target whose MGS is not known yet (its server is not managed, or has not
reported) waits: `Scheduler` offers the servers' last reports again after each import.

What is never done from a report: a device the storage plugins have not turned into a volume
yet is skipped until they have; a volume that holds another target in the model is not
rewritten; a target added by hand to a filesystem Chroma Desktop set up is not taken over; and
a target an admin removed from the manager (forgotten) is not imported again while its disk
keeps the same label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.models import (
    Event,
    Filesystem,
    Host,
    Severity,
    Target,
    TargetKind,
    TargetMount,
    Volume,
    VolumeNode,
)
from core.scheduler.observe import ReportedMount
from core.scheduler.world import FILESYSTEM, TARGET, World
from core.states import FilesystemState, TargetState
from core.validation import normalise_nid

_LABEL = re.compile(r"(?P<fsname>[A-Za-z0-9_]{1,8})-(?P<kind>MDT|OST)(?P<index>[0-9a-fA-F]{4})")
MGS_LABEL = "MGS"


@dataclass(frozen=True)
class FoundLabel:
    kind: TargetKind
    fsname: str | None
    index: int | None


def parse_label(label: str) -> FoundLabel | None:
    """What a registered target's disk label says: "MGS", "fs2-OST0003"; None for anything else
    (a target never registered with its MGS is labelled "fs2:OST0003" and is not running)."""
    if label == MGS_LABEL:
        return FoundLabel(TargetKind.MGT, None, None)
    match = _LABEL.fullmatch(label)
    if match is None:
        return None
    return FoundLabel(TargetKind(match["kind"]), match["fsname"], int(match["index"], 16))


def unknown_mounts(
    world: World, host_id: int, mounts: tuple[ReportedMount, ...]
) -> list[ReportedMount]:
    """The reported targets the model has no mount of on this server (cheap: no query)."""
    known = {
        mount.device
        for target_id in world.targets_by_host.get(host_id, ())
        for mount in world.targets[target_id].mounts
        if mount.host_id == host_id
    }
    return [m for m in mounts if m.device not in known and parse_label(m.label) is not None]


@dataclass(frozen=True)
class ImportedTarget:
    target_id: int
    filesystem_id: int | None


def _nids(texts: tuple[str, ...] | list[str]) -> set[str]:
    found = set()
    for text in texts:
        try:
            found.add(normalise_nid(text))
        except ValidationError:
            found.add(text)
    return found


def import_found(
    session: Session,
    host_id: int,
    mounts: list[ReportedMount],
    reported_nids: tuple[str, ...],
    now: datetime,
) -> list[ImportedTarget]:
    """Import the targets of `mounts` (reported mounted on host `host_id`) the model does not
    know, with their filesystems; returns what was imported or given a mount here."""
    host = session.get(Host, host_id)
    if host is None or not host.is_live:
        return []
    nodes = {node.path: node for node in host.volume_nodes if node.is_live}
    done: list[ImportedTarget] = []
    # The MGS first: a filesystem reported in the same breath needs it.
    for mount in sorted(mounts, key=lambda m: m.label != MGS_LABEL):
        found = parse_label(mount.label)
        node = nodes.get(mount.device)
        if found is None or node is None:
            continue  # not a running target, or a device the plugins have not reported yet
        holder = next((t for t in node.volume.targets if t.is_live), None)
        if holder is not None:
            added = _mount_elsewhere(session, holder, host, node, mount)
            if added:
                done.append(ImportedTarget(holder.id, holder.filesystem_id))
            continue
        if _forgotten(session, node.volume, mount.label):
            continue
        if found.kind == TargetKind.MGT:
            target = _new_target(session, found, mount, host, node, None)
            _event(
                session,
                now,
                host,
                TARGET,
                target.id,
                f"An MGS found running on {host.label}, imported as monitor-only.",
            )
            done.append(ImportedTarget(target.id, None))
            continue
        assert found.fsname is not None
        mgs = _mgs_of(session, found.fsname, mount, host, reported_nids)
        if mgs is None:
            continue  # its MGS is not known yet
        filesystem = next(
            (fs for fs in mgs.mgs_filesystems if fs.name == found.fsname and fs.is_live), None
        )
        created = filesystem is None
        if filesystem is None:
            filesystem = Filesystem(
                name=found.fsname,
                mgs=mgs,
                monitor_only=True,
                state=FilesystemState.UNAVAILABLE,
                mdt_next_index=0,
                ost_next_index=0,
            )
            session.add(filesystem)
        elif not filesystem.monitor_only:
            continue  # added by hand to a filesystem we set up: not taken over
        if any(t.kind == found.kind and t.index == found.index for t in filesystem.live_targets()):
            continue  # the index is another target's in the model
        target = _new_target(session, found, mount, host, node, filesystem)
        if created:
            message = f"{found.fsname} found running on {host.label}, imported as monitor-only."
            _event(session, now, host, FILESYSTEM, filesystem.id, message)
        else:
            message = (
                f"{mount.label} of {found.fsname} found running on {host.label}, added as "
                "monitor-only."
            )
            _event(session, now, host, TARGET, target.id, message)
        done.append(ImportedTarget(target.id, filesystem.id))
    return done


def _new_target(
    session: Session,
    found: FoundLabel,
    mount: ReportedMount,
    host: Host,
    node: VolumeNode,
    filesystem: Filesystem | None,
) -> Target:
    target = Target(
        kind=found.kind,
        name=mount.label,
        index=found.index,
        volume=node.volume,
        filesystem=filesystem,
        state=TargetState.MOUNTED,
        monitor_only=True,
    )
    if filesystem is not None and found.index is not None:
        attribute = "mdt_next_index" if found.kind == TargetKind.MDT else "ost_next_index"
        setattr(filesystem, attribute, max(int(getattr(filesystem, attribute)), found.index + 1))
    session.add(target)
    session.add(
        TargetMount(
            target=target,
            host=host,
            volume_node=node,
            mount_point=mount.mount_point,
            failover_order=0,
            active=True,
        )
    )
    session.flush()
    return target


def _mount_elsewhere(
    session: Session, holder: Target, host: Host, node: VolumeNode, mount: ReportedMount
) -> bool:
    """A monitor-only target found on another server of its shared volume: it can run here
    too (the scheduler's audit then records it running here)."""
    if holder.name != mount.label or not holder.monitor_only:
        return False
    if any(m.host_id == host.id for m in holder.mounts):
        return False
    order = max((m.failover_order for m in holder.mounts), default=-1) + 1
    session.add(
        TargetMount(
            target=holder,
            host=host,
            volume_node=node,
            mount_point=mount.mount_point,
            failover_order=order,
        )
    )
    session.flush()
    return True


def _forgotten(session: Session, volume: Volume, label: str) -> bool:
    return (
        session.scalar(
            select(Target.id).where(
                Target.volume_id == volume.id,
                Target.name == label,
                Target.monitor_only.is_(True),
                Target.state == TargetState.FORGOTTEN,
            )
        )
        is not None
    )


def _mgs_of(
    session: Session,
    fsname: str,
    mount: ReportedMount,
    host: Host,
    reported_nids: tuple[str, ...],
) -> Target | None:
    """The model's MGT of a reported MDT or OST (see the module's docstring)."""
    mgts = list(
        session.scalars(
            select(Target)
            .where(Target.kind == TargetKind.MGT, Target.deleted_at.is_(None))
            .order_by(Target.id)
        )
    )
    if mount.mgs_nids:
        wanted = _nids(mount.mgs_nids)
        for mgt in mgts:
            for target_mount in mgt.mounts:
                server = target_mount.host
                nids = _nids([nid.nid_string for nid in server.lnet.nids] if server.lnet else [])
                if server.id == host.id:
                    nids |= _nids(reported_nids)
                if nids & wanted:
                    return mgt
        return None
    here = [mgt for mgt in mgts if any(m.host_id == host.id and m.active for m in mgt.mounts)]
    if len(here) == 1:
        return here[0]
    named = list(
        session.scalars(
            select(Filesystem).where(Filesystem.name == fsname, Filesystem.deleted_at.is_(None))
        )
    )
    if len(named) == 1:
        return named[0].mgs
    return mgts[0] if len(mgts) == 1 else None


def _event(
    session: Session, now: datetime, host: Host, kind: str, ident: int, message: str
) -> None:
    session.add(
        Event(
            created_at=now,
            severity=Severity.INFO,
            kind="audit",
            host_id=host.id,
            subject_kind=kind,
            subject_id=ident,
            message=message,
        )
    )
