"""The declarative base, column types and mixins every Chroma Desktop table shares.

Layer: core. Thread: whichever thread owns the session (the database worker).
Constraint names follow one convention so that Alembic migrations name them the same on SQLite
and PostgreSQL. Times are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Enum, Index, MetaData, TextClause, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LIVE = text("deleted_at IS NULL")
"""Partial-index condition: unique among live (not soft-deleted) rows only."""


def unique_where(name: str, *columns: str, where: TextClause = LIVE) -> Index:
    """A unique index over the rows matching `where` (by default: the live rows), on both
    SQLite and PostgreSQL."""
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


def enum_column(enum: type[E], **kwargs: Any) -> Mapped[E]:
    """A column holding a StrEnum by value, as a plain string (no database enum type)."""
    return mapped_column(
        Enum(
            enum,
            native_enum=False,
            create_constraint=False,
            length=32,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        **kwargs,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident}>"


class SoftDeleted:
    """Rows are never deleted: removal stamps `deleted_at`, keeping history and audit intact.

    Unique constraints apply among live rows only (partial indexes on `deleted_at IS NULL`), so a
    name can be reused after its object was removed.
    """

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


class Stateful:
    """An object with a state machine: its state and when it last changed."""

    state_modified_at: Mapped[datetime] = mapped_column(default=utcnow)
    monitor_only: Mapped[bool] = mapped_column(default=False)
    """Discovered rather than set up by us: only audits change its state."""
