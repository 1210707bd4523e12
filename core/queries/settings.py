"""Settings changed out of band: the permanent Lustre parameters the MGS servers report, kept,
and compared with what Chroma Desktop set, as rows a person can read (parameter, what we set,
what the server reports, since when).

Layer: core. Thread: the caller's session's (the database worker in the desktop: the alert
engine records each report here and asks for the differences; the window, CLI and API ask for
them through `settings_differences`).

What we set is the newest value of each catalogue parameter (`core.confparams`) up to the
version last pushed to the servers (`Target.conf_param_version_applied` of the MGT): a change
saved but not applied yet is pending, not a difference. What the server reports is the MGS's
permanent configuration (`lctl conf_param`, `lctl set_param -P`), by whoever set it, normalised
by the catalogue. Parameters outside the catalogue are not ours and are ignored. A filesystem
imported as monitor-only has nothing set by us and so no differences.

Mounts: the mount point is the one mount setting Chroma Desktop chooses (per target and server,
`TargetMount.mount_point`); a target reported running from another directory is a difference
(kept under the key `MOUNT_POINT` while it runs there). Chroma Desktop passes no mount options
(`mount -t lustre <device> <mount point>`), so there are none to differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import inventory
from core.confparams import CATALOGUE, lustre_key, normalise_reported, parse_lustre_key
from core.models import Filesystem, ReportedConfParam, Target, TargetMount

MOUNT_POINT = "mount_point"
"""The `ReportedConfParam.key` of a target's reported mount point."""


@dataclass(frozen=True)
class SettingDifference:
    """One parameter whose value on the servers is not what Chroma Desktop set."""

    filesystem_id: int
    subject: str
    """The filesystem's or the target's name."""
    parameter: str
    """As the catalogue names it: "sys.timeout"."""
    lustre_key: str
    """As `lctl conf_param` names it: "fs1.sys.timeout"."""
    ours: str | None
    """What we set; None: we set nothing (Lustre's default applies)."""
    reported: str | None
    """What the server holds; None: nothing set there."""
    since: datetime
    """Since when the server has reported this value."""

    @property
    def text(self) -> str:
        ours = "not set" if self.ours is None else self.ours
        reported = "not set" if self.reported is None else self.reported
        return f"{self.lustre_key}: we set {ours}, the server has {reported}"


@dataclass(frozen=True)
class _Ours:
    target_id: int | None
    key: str
    value: str | None


def _ours(session: Session, filesystem: Filesystem) -> dict[str, _Ours]:
    """What we set on the filesystem and its targets and pushed to the servers, by Lustre key."""
    applied = filesystem.mgs.conf_param_version_applied
    found: dict[str, _Ours] = {}
    subjects: list[Filesystem | Target] = [filesystem, *filesystem.live_targets()]
    for subject in subjects:
        target = subject if isinstance(subject, Target) else None
        current = inventory.current_conf_params(session, subject, up_to_version=applied)
        for key, value in current.items():
            spec = CATALOGUE.get(key)
            if spec is None:
                continue
            name = lustre_key(
                spec.scope,
                key,
                fsname=filesystem.name,
                target_name=target.name if target is not None else None,
            )
            found[name] = _Ours(target.id if target is not None else None, key, value)
    return found


def reporting_filesystem(session: Session, host_id: int, fsname: str) -> Filesystem | None:
    """The live filesystem named `fsname` whose MGS can run on host `host_id`: the one whose
    configuration that server's MGS holds."""
    return session.scalar(
        select(Filesystem)
        .join(TargetMount, TargetMount.target_id == Filesystem.mgs_id)
        .where(
            Filesystem.name == fsname,
            Filesystem.deleted_at.is_(None),
            TargetMount.host_id == host_id,
        )
        .order_by(TargetMount.active.desc(), Filesystem.id)
        .limit(1)
    )


def record_reported(
    session: Session,
    host_id: int,
    conf_params: Mapping[str, Mapping[str, str]],
    now: datetime,
) -> list[Filesystem]:
    """Keep what the MGS on host `host_id` reports for each filesystem it holds; returns the
    filesystems of the model it reported (the ones to compare again)."""
    reported_for: list[Filesystem] = []
    for fsname, params in sorted(conf_params.items()):
        filesystem = reporting_filesystem(session, host_id, fsname)
        if filesystem is None or filesystem.monitor_only:
            continue
        reported_for.append(filesystem)
        targets = {t.name: t for t in filesystem.live_targets()}
        ours = _ours(session, filesystem)
        seen: dict[str, tuple[int | None, str, str | None]] = {
            name: (mine.target_id, mine.key, None) for name, mine in ours.items()
        }
        for name, value in params.items():
            try:
                owner, key = parse_lustre_key(name)
            except ValueError:
                continue
            if key not in CATALOGUE:
                continue  # not a parameter Chroma Desktop manages
            if owner == filesystem.name:
                target_id = None
            elif owner in targets:
                target_id = targets[owner].id
            else:
                continue  # a target the model does not have
            seen[name] = (target_id, key, normalise_reported(key, value))
        kept = {
            row.lustre_key: row
            for row in session.scalars(
                select(ReportedConfParam).where(
                    ReportedConfParam.filesystem_id == filesystem.id,
                    ReportedConfParam.key != MOUNT_POINT,
                )
            )
        }
        for name, row in kept.items():
            if name not in seen:
                session.delete(row)
        for name, (target_id, key, holds) in seen.items():
            known = kept.get(name)
            if known is None:
                session.add(
                    ReportedConfParam(
                        filesystem_id=filesystem.id,
                        target_id=target_id,
                        key=key,
                        lustre_key=name,
                        value=holds,
                        host_id=host_id,
                        since=now,
                    )
                )
            elif known.value != holds:
                known.value, known.since, known.host_id = holds, now, host_id
    session.flush()
    return reported_for


def record_mount_point(
    session: Session, target_id: int, host_id: int, mount_point: str, now: datetime
) -> Filesystem | None:
    """Keep where the target is reported running from; returns its filesystem when what is
    kept changed and it is one whose settings we compare (an MDT or OST of a filesystem we set
    up), so that its differences are worked out again."""
    target = session.get(Target, target_id)
    if target is None or target.filesystem is None or target.filesystem.monitor_only:
        return None
    name = f"{target.name}.{MOUNT_POINT}"
    row = session.scalar(
        select(ReportedConfParam).where(
            ReportedConfParam.filesystem_id == target.filesystem_id,
            ReportedConfParam.lustre_key == name,
        )
    )
    if row is None:
        session.add(
            ReportedConfParam(
                filesystem_id=target.filesystem_id,
                target_id=target.id,
                key=MOUNT_POINT,
                lustre_key=name,
                value=mount_point,
                host_id=host_id,
                since=now,
            )
        )
    elif (row.value, row.host_id) != (mount_point, host_id):
        row.value, row.host_id, row.since = mount_point, host_id, now
    else:
        return None
    session.flush()
    return target.filesystem


def forget_mount_point(session: Session, target_id: int) -> Filesystem | None:
    """The target is not running any more: its mount point is no longer reported."""
    row = session.scalar(
        select(ReportedConfParam).where(
            ReportedConfParam.target_id == target_id, ReportedConfParam.key == MOUNT_POINT
        )
    )
    if row is None:
        return None
    filesystem = session.get(Filesystem, row.filesystem_id)
    session.delete(row)
    session.flush()
    return filesystem


def _our_mount_points(session: Session, filesystem: Filesystem) -> dict[tuple[int, int], str]:
    return {
        (mount.target_id, mount.host_id): mount.mount_point
        for target in filesystem.live_targets()
        for mount in target.mounts
    }


def settings_differences(session: Session, filesystem: Filesystem) -> list[SettingDifference]:
    """The parameters of `filesystem` and its targets whose reported value is not what we set,
    by Lustre key; empty until its MGS server has reported."""
    if filesystem.monitor_only:
        return []
    ours = _ours(session, filesystem)
    rows = session.scalars(
        select(ReportedConfParam)
        .where(ReportedConfParam.filesystem_id == filesystem.id)
        .order_by(ReportedConfParam.lustre_key)
    )
    mount_points = _our_mount_points(session, filesystem)
    found = []
    for row in rows:
        if row.key == MOUNT_POINT:
            if row.target_id is None or (row.target_id, row.host_id) not in mount_points:
                continue  # a server the model does not let it run on: the audit's business
            expected: str | None = mount_points[(row.target_id, row.host_id)]
        else:
            mine = ours.get(row.lustre_key)
            expected = mine.value if mine is not None else None
        if expected == row.value:
            continue
        found.append(
            SettingDifference(
                filesystem_id=filesystem.id,
                subject=row.lustre_key.partition(".")[0],
                parameter=row.key,
                lustre_key=row.lustre_key,
                ours=expected,
                reported=row.value,
                since=row.since,
            )
        )
    return found
