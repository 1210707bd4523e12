"""What happened and who did it: alerts with their evidence, the events timeline, the audit trail.

Layer: core. Thread: the database worker's. An alert is a period during which one condition held
for one object; it is raised, later cleared, and may be dismissed by an admin meanwhile. Audit
records are written automatically for every change to the domain tables (see core.audit).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_column, unique_where, utcnow


class Severity(IntEnum):
    """Ordered like Python's logging levels, so 'at least WARNING' is a comparison."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


class AlertKind(StrEnum):
    SERVER_OFFLINE = "server_offline"
    LNET_DOWN = "lnet_down"
    LNET_NIDS_CHANGED = "lnet_nids_changed"
    TARGET_OFFLINE = "target_offline"
    TARGET_ON_SECONDARY = "target_on_secondary"
    STORAGE_DEVICE_MISSING = "storage_device_missing"
    CAPACITY_HIGH = "capacity_high"
    INODES_HIGH = "inodes_high"
    RECOVERY_IN_PROGRESS = "recovery_in_progress"
    JOB_FAILED = "job_failed"
    AGENT_VERSION_MISMATCH = "agent_version_mismatch"
    CLOCK_SKEW = "clock_skew"
    ERROR_LOG_SPIKE = "error_log_spike"
    SETTINGS_CHANGED_OUT_OF_BAND = "settings_changed_out_of_band"


class Alert(Base):
    """A condition that held for an object from `raised_at` until `cleared_at`."""

    __tablename__ = "alerts"
    __table_args__ = (
        # One current alert of a kind per object; cleared ones are history.
        unique_where(
            "uq_alerts_subject_kind_active",
            "subject_kind",
            "subject_id",
            "kind",
            where=text("cleared_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = enum_column(AlertKind)
    severity: Mapped[int] = mapped_column(Integer, default=Severity.WARNING)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    message: Mapped[str] = mapped_column(String(1024))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]
    dismissed_by: Mapped[str | None] = mapped_column(String(128))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """What triggered it: log lines, stat samples, report fragments."""

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class Event(Base):
    """An immutable entry of the events timeline."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    severity: Mapped[int] = mapped_column(Integer, default=Severity.INFO)
    kind: Mapped[str] = mapped_column(String(32))
    """alert, autodetection, reboot, syslog, client_connect, job, audit, …"""
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    message: Mapped[str] = mapped_column(Text)


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AuditRecord(Base):
    """Who changed which object, when, and each field's old and new value."""

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_object", "object_kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[AuditAction] = enum_column(AuditAction)
    object_kind: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int]
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """{field: [old, new]} with values as JSON-safe text."""
    command_id: Mapped[int | None] = mapped_column(ForeignKey("commands.id"))
