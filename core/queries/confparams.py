"""A filesystem's conf params as an admin edits them: every catalogue parameter of the filesystem,
its MDTs and its OSTs, with the value saved, the value the servers were last sent, and what the
MGS reports when that differs; and saving a batch of changes as the MGS's next version.

Layer: core. Thread: the caller's session's (the database worker; the window's conf params
editor, the CLI and the API read and save through these functions).

Saving never touches a server: the values become the MGS's next conf param version, and the
"Apply conf params" job (`ApplyConfParamsJob` on the MGT) sends everything newer than the version
last applied. Until then a value is pending. A batch is all or nothing: a value that breaks the
catalogue's rule raises `ValidationError` naming it, and the unit of work saves none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import inventory
from core.confparams import CATALOGUE, keys_for, lustre_key
from core.errors import NotFoundError, ValidationError
from core.models import ConfParam, Filesystem, Target, TargetKind
from core.models.lustre import ConfParamScope
from core.queries.settings import settings_differences

FILESYSTEM_SCOPES = (ConfParamScope.FILESYSTEM_GLOBAL, ConfParamScope.FILESYSTEM_CLIENT)


@dataclass(frozen=True)
class ConfParamRow:
    subject: str
    """The filesystem's or the target's name."""
    key: str
    """As the catalogue names it: "sys.timeout"."""
    lustre_key: str
    """As `lctl conf_param` names it: "fs1.sys.timeout"."""
    help: str
    value: str | None
    """The newest value saved; None: not set (Lustre's default applies)."""
    applied: str | None
    """The value the servers were last sent."""
    reported: str | None
    """What the MGS reports when it differs from what we set (changed out of band), else None."""

    @property
    def pending(self) -> bool:
        """Saved but not yet applied to the servers."""
        return self.value != self.applied


@dataclass(frozen=True)
class ConfParamSheet:
    filesystem_id: int
    filesystem: str
    mgs_id: int
    subjects: tuple[str, ...]
    """The filesystem first, then its MDTs and OSTs by name."""
    rows: tuple[ConfParamRow, ...]

    @property
    def pending(self) -> bool:
        return any(row.pending for row in self.rows)

    def rows_of(self, subject: str) -> list[ConfParamRow]:
        return [row for row in self.rows if row.subject == subject]


@dataclass(frozen=True)
class ConfParamChange:
    subject: str
    """The filesystem's or one of its MDTs' or OSTs' names."""
    key: str
    value: str | None
    """None clears the parameter (back to Lustre's default)."""


def _filesystem(session: Session, filesystem_id: int) -> Filesystem:
    filesystem = session.get(Filesystem, filesystem_id)
    if filesystem is None or filesystem.deleted_at is not None:
        raise NotFoundError(
            f"Filesystem {filesystem_id} does not exist (it may have been removed)."
        )
    return filesystem


def _targets(filesystem: Filesystem) -> list[Target]:
    return sorted(
        (t for t in filesystem.live_targets() if t.kind in (TargetKind.MDT, TargetKind.OST)),
        key=lambda t: (t.kind != TargetKind.MDT, t.name),
    )


def conf_param_sheet(session: Session, filesystem_id: int) -> ConfParamSheet:
    """Every parameter an admin may set on the filesystem and its MDTs and OSTs (read with one
    query of the conf param history, however many targets)."""
    filesystem = _filesystem(session, filesystem_id)
    applied_version = filesystem.mgs.conf_param_version_applied
    saved: dict[tuple[int | None, str], str | None] = {}
    applied: dict[tuple[int | None, str], str | None] = {}
    history = session.scalars(
        select(ConfParam)
        .where(ConfParam.filesystem_id == filesystem.id)
        .order_by(ConfParam.version, ConfParam.id)
    )
    for param in history:
        where = (param.target_id, param.key)
        saved[where] = param.value
        if param.version <= applied_version:
            applied[where] = param.value
    reported = {d.lustre_key: d.reported for d in settings_differences(session, filesystem)}
    rows: list[ConfParamRow] = []
    subjects = [filesystem.name]
    scoped: list[tuple[str, int | None, str | None, tuple[ConfParamScope, ...]]] = [
        (filesystem.name, None, None, FILESYSTEM_SCOPES)
    ]
    for target in _targets(filesystem):
        subjects.append(target.name)
        scope = ConfParamScope.MDT if target.kind == TargetKind.MDT else ConfParamScope.OST
        scoped.append((target.name, target.id, target.name, (scope,)))
    for subject, target_id, target_name, scopes in scoped:
        for scope in scopes:
            for key in keys_for(scope):
                name = lustre_key(scope, key, fsname=filesystem.name, target_name=target_name)
                rows.append(
                    ConfParamRow(
                        subject=subject,
                        key=key,
                        lustre_key=name,
                        help=CATALOGUE[key].help,
                        value=saved.get((target_id, key)),
                        applied=applied.get((target_id, key)),
                        reported=reported.get(name),
                    )
                )
    return ConfParamSheet(
        filesystem.id, filesystem.name, filesystem.mgs_id, tuple(subjects), tuple(rows)
    )


def save_conf_params(
    session: Session, filesystem_id: int, changes: Sequence[ConfParamChange]
) -> int:
    """Save `changes` as the MGS's next version(s); returns the newest version. Raises
    ValidationError (naming the parameter and its rule) or NotFoundError, saving nothing."""
    if not changes:
        raise ValidationError("conf params", [], "change at least one parameter")
    filesystem = _filesystem(session, filesystem_id)
    by_name: dict[str, Filesystem | Target] = {filesystem.name: filesystem}
    by_name.update({target.name: target for target in _targets(filesystem)})
    grouped: dict[str, dict[str, str | None]] = {}
    for change in changes:
        if change.subject not in by_name:
            raise ValidationError(
                "conf param subject",
                change.subject,
                f"give {filesystem.name} or one of its MDTs or OSTs",
            )
        subject = by_name[change.subject]
        allowed = (
            FILESYSTEM_SCOPES
            if isinstance(subject, Filesystem)
            else (ConfParamScope.MDT if subject.kind == TargetKind.MDT else ConfParamScope.OST,)
        )
        spec = CATALOGUE.get(change.key)
        if spec is None or spec.scope not in allowed:
            raise ValidationError(
                f"conf param of {change.subject}",
                change.key,
                "give one of " + ", ".join(k for s in allowed for k in keys_for(s)),
            )
        grouped.setdefault(change.subject, {})[change.key] = change.value
    version = 0
    for name, params in grouped.items():
        version = inventory.set_conf_params(session, by_name[name], params)
    return version
