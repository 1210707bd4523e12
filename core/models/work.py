"""Work tracking: commands (one per admin request), their jobs, and each job's steps with output.

Layer: core. Thread: the database worker's. A job may be shared by several commands; a job waits
for the jobs it depends on; a step is one agent action whose stdout, stderr and result are kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column, utcnow
from core.states import RunState

if TYPE_CHECKING:
    from core.models.hosts import Host

command_jobs = Table(
    "command_jobs",
    Base.metadata,
    Column("command_id", Integer, ForeignKey("commands.id"), primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id"), primary_key=True),
)

job_dependencies = Table(
    "job_dependencies",
    Base.metadata,
    Column("job_id", Integer, ForeignKey("jobs.id"), primary_key=True),
    Column("depends_on_id", Integer, ForeignKey("jobs.id"), primary_key=True),
)


class Command(Base):
    """One admin request ("Start filesystem fs1") and the jobs that carry it out."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(512))
    actor: Mapped[str] = mapped_column(String(128))
    state: Mapped[RunState] = enum_column(RunState, default=RunState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    jobs: Mapped[list[Job]] = relationship(secondary=command_jobs, back_populates="commands")


class Job(Base):
    """One change to one object (a state-machine edge) or one maintenance task."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    """The job class, as named by the state-machine tables: StartTargetJob."""
    description: Mapped[str] = mapped_column(String(512))
    state: Mapped[RunState] = enum_column(RunState, default=RunState.PENDING, index=True)
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    """The class of object it changes (host, lnet, target, filesystem, …)."""
    subject_id: Mapped[int | None]
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    cancellable: Mapped[bool] = mapped_column(default=True)
    locks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Read and write locks: [{"kind", "id", "write", "begin", "end"}]."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    """Why it failed or was cancelled, in words an admin can act on."""

    commands: Mapped[list[Command]] = relationship(secondary=command_jobs, back_populates="jobs")
    depends_on: Mapped[list[Job]] = relationship(
        secondary=job_dependencies,
        primaryjoin=id == job_dependencies.c.job_id,
        secondaryjoin=id == job_dependencies.c.depends_on_id,
        back_populates="dependents",
    )
    dependents: Mapped[list[Job]] = relationship(
        secondary=job_dependencies,
        primaryjoin=id == job_dependencies.c.depends_on_id,
        secondaryjoin=id == job_dependencies.c.job_id,
        back_populates="depends_on",
    )
    steps: Mapped[list[Step]] = relationship(
        back_populates="job", order_by="Step.index", cascade="all, delete-orphan"
    )


class Step(Base):
    """One agent action of a job, with the command lines it runs and everything it printed."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("job_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    index: Mapped[int]
    description: Mapped[str] = mapped_column(String(512))
    action: Mapped[str | None] = mapped_column(String(64))
    """The agent action it calls, or None for work done here (database only)."""
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))
    command_lines: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    """The exact argument lists it runs on the server, for dry runs and runbooks."""
    state: Mapped[RunState] = enum_column(RunState, default=RunState.PENDING)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    job: Mapped[Job] = relationship(back_populates="steps")
    host: Mapped[Host | None] = relationship()
