"""The audit trail: every change to a domain object is recorded with who made it, automatically.

Layer: core. Thread: runs inside the flush of whichever session made the change (the database
worker's). Sessions carry the actor (an admin's login, "agent:<host>" for reconciliation) and the
command in `session.info`; `core.database.Database.session` sets them.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, sessionmaker

from core.models import (
    AuditAction,
    AuditRecord,
    ClientMount,
    ConfParam,
    Filesystem,
    Host,
    LNetConfiguration,
    NetworkInterface,
    Nid,
    OstPool,
    PowerControlDevice,
    PowerControlType,
    PowerOutlet,
    ServerProfile,
    Target,
    TargetMount,
    Volume,
    VolumeNode,
)
from core.models.base import Base, utcnow

AUDITED: tuple[type[Base], ...] = (
    ServerProfile,
    Host,
    NetworkInterface,
    LNetConfiguration,
    Nid,
    Volume,
    VolumeNode,
    Filesystem,
    Target,
    TargetMount,
    ConfParam,
    OstPool,
    ClientMount,
    PowerControlType,
    PowerControlDevice,
    PowerOutlet,
)

ACTOR_KEY = "actor"
COMMAND_KEY = "command_id"
UNKNOWN_ACTOR = "unknown"


def install_audit_trail(sessions: sessionmaker[Session]) -> None:
    """Record an AuditRecord for each audited object a session of `sessions` creates or changes."""
    event.listen(sessions, "after_flush", _record_changes)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _record_changes(session: Session, _flush_context: object) -> None:
    rows: list[dict[str, Any]] = []
    actor = session.info.get(ACTOR_KEY, UNKNOWN_ACTOR)
    command_id = session.info.get(COMMAND_KEY)
    now = utcnow()

    def add(obj: Base, action: AuditAction, changes: dict[str, Any]) -> None:
        rows.append(
            {
                "at": now,
                "actor": actor,
                "action": action,
                "object_kind": type(obj).__tablename__,
                "object_id": inspect(obj).dict["id"],
                "changes": changes,
                "command_id": command_id,
            }
        )

    for obj in session.new:
        if isinstance(obj, AUDITED):
            state = inspect(obj)
            changes = {
                column.key: [None, _jsonable(state.dict.get(column.key))]
                for column in state.mapper.column_attrs
                if state.dict.get(column.key) is not None
            }
            add(obj, AuditAction.CREATE, changes)
    for obj in session.dirty:
        if isinstance(obj, AUDITED) and session.is_modified(obj, include_collections=False):
            state = inspect(obj)
            changes = {}
            for column in state.mapper.column_attrs:
                history = state.attrs[column.key].history
                if history.has_changes():
                    old = history.deleted[0] if history.deleted else None
                    new = history.added[0] if history.added else None
                    changes[column.key] = [_jsonable(old), _jsonable(new)]
            if changes:
                deleted = "deleted_at" in changes and changes["deleted_at"][0] is None
                add(obj, AuditAction.DELETE if deleted else AuditAction.UPDATE, changes)
    for obj in session.deleted:
        if isinstance(obj, AUDITED):
            add(obj, AuditAction.DELETE, {})
    if rows:
        session.connection().execute(insert(AuditRecord), rows)
