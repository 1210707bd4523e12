"""Commands as an admin follows them: the newest commands, one command's jobs as the tree IML drew
(the jobs nothing else waits for on top, the jobs they wait for beneath), and one job's steps with
everything they printed, for the window, the CLI and the API.

Layer: core. Thread: the caller's session's (the database worker in the desktop). Reading a
command never loads the steps of all its jobs: a 4,000-job command costs one query for its jobs
and their dependencies, and the steps of the one job being looked at cost another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.models import Command, Job, Step
from core.models.work import command_jobs, job_dependencies
from core.states import RunState

COMMANDS_SHOWN = 500
"""The newest commands a list holds; older ones are still in the database."""


def _span(start: datetime | None, end: datetime | None, now: datetime) -> timedelta | None:
    if start is None:
        return None
    return (end or now) - start


@dataclass(frozen=True)
class CommandSummary:
    id: int
    message: str
    actor: str
    state: RunState
    created_at: datetime
    finished_at: datetime | None
    job_count: int
    read_at: datetime
    """When this was read: a running command's duration counts up to it."""

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def duration(self) -> timedelta | None:
        return _span(self.created_at, self.finished_at, self.read_at)


@dataclass(frozen=True)
class CommandList:
    commands: tuple[CommandSummary, ...]
    """Newest first."""
    more: int
    """How many older commands were left out."""


@dataclass(frozen=True)
class JobSummary:
    id: int
    kind: str
    description: str
    state: RunState
    subject_kind: str | None
    subject_id: int | None
    cancellable: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    """Why it failed or was cancelled."""
    depends_on: tuple[int, ...]
    """The jobs of the same command it waits for."""
    read_at: datetime

    @property
    def run_time(self) -> timedelta | None:
        return _span(self.started_at, self.finished_at, self.read_at)


@dataclass(frozen=True)
class JobNode:
    """A job in the tree: beneath it, the jobs it waits for that no shallower job shows."""

    job: JobSummary
    depth: int
    children: tuple[JobNode, ...]


@dataclass(frozen=True)
class CommandDetail:
    command: CommandSummary
    jobs: tuple[JobSummary, ...]
    tree: tuple[JobNode, ...]


@dataclass(frozen=True)
class StepRecord:
    id: int
    job_id: int
    index: int
    """From 0; shown as "index + 1 / count"."""
    count: int
    description: str
    action: str | None
    args: str
    """The action's arguments as JSON text."""
    server: str | None
    """The label of the server it runs on; None for work done in the database."""
    command_lines: tuple[tuple[str, ...], ...]
    state: RunState
    stdout: str
    stderr: str
    result: str
    """The action's result as JSON text ("" before it ends, or when it returned nothing)."""
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def position(self) -> str:
        return f"{self.index + 1}/{self.count}"


def _json_text(value: Any) -> str:
    if value is None or value == {}:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _command_summary(command: Command, job_count: int, now: datetime) -> CommandSummary:
    return CommandSummary(
        id=command.id,
        message=command.message,
        actor=command.actor,
        state=RunState(command.state),
        created_at=command.created_at,
        finished_at=command.finished_at,
        job_count=job_count,
        read_at=now,
    )


def _job_counts(session: Session, command_ids: Sequence[int]) -> dict[int, int]:
    if not command_ids:
        return {}
    rows = session.execute(
        select(command_jobs.c.command_id, func.count())
        .where(command_jobs.c.command_id.in_(command_ids))
        .group_by(command_jobs.c.command_id)
    )
    return {command_id: count for command_id, count in rows}


def list_commands(session: Session, now: datetime, *, limit: int = COMMANDS_SHOWN) -> CommandList:
    """The newest `limit` commands, newest first, and how many older ones there are."""
    commands = list(
        session.scalars(
            select(Command).order_by(Command.created_at.desc(), Command.id.desc()).limit(limit)
        )
    )
    total = session.scalar(select(func.count()).select_from(Command)) or 0
    counts = _job_counts(session, [command.id for command in commands])
    return CommandList(
        tuple(_command_summary(c, counts.get(c.id, 0), now) for c in commands),
        max(total - len(commands), 0),
    )


def job_tree(jobs: Iterable[JobSummary]) -> tuple[JobNode, ...]:
    """The jobs of one command as IML drew them: on top the jobs nothing else in the command
    waits for; beneath each job the jobs it waits for; each job once, at its shallowest depth
    (reached breadth first, under the first job in id order that waits for it)."""
    by_id = {job.id: job for job in jobs}
    waited_for = {dep for job in by_id.values() for dep in job.depends_on if dep in by_id}
    roots = sorted(job_id for job_id in by_id if job_id not in waited_for)
    if not roots and by_id:  # a cycle (never planned, but never loop or hide jobs): all on top
        roots = sorted(by_id)
    parent_of: dict[int, int | None] = {job_id: None for job_id in roots}
    depth_of = {job_id: 0 for job_id in roots}
    frontier = roots
    while frontier:
        following: list[int] = []
        for job_id in frontier:
            for dep in sorted(set(by_id[job_id].depends_on)):
                if dep in by_id and dep not in parent_of:
                    parent_of[dep] = job_id
                    depth_of[dep] = depth_of[job_id] + 1
                    following.append(dep)
        frontier = following
    for job_id in sorted(by_id):  # unreachable (inside a cycle): shown on top, not lost
        if job_id not in parent_of:
            parent_of[job_id], depth_of[job_id] = None, 0
    children: dict[int | None, list[int]] = {}
    for job_id in sorted(parent_of):
        children.setdefault(parent_of[job_id], []).append(job_id)

    def node(job_id: int) -> JobNode:
        return JobNode(
            by_id[job_id],
            depth_of[job_id],
            tuple(node(child) for child in children.get(job_id, ())),
        )

    return tuple(node(job_id) for job_id in children.get(None, ()))


def command_detail(session: Session, command_id: int, now: datetime) -> CommandDetail | None:
    """One command with its jobs and their tree; None when there is no such command."""
    command = session.get(Command, command_id)
    if command is None:
        return None
    jobs = list(
        session.scalars(
            select(Job)
            .join(command_jobs, command_jobs.c.job_id == Job.id)
            .where(command_jobs.c.command_id == command_id)
            .order_by(Job.id)
        )
    )
    job_ids = [job.id for job in jobs]
    depends: dict[int, list[int]] = {job_id: [] for job_id in job_ids}
    if job_ids:
        for job_id, depends_on_id in session.execute(
            select(job_dependencies.c.job_id, job_dependencies.c.depends_on_id).where(
                job_dependencies.c.job_id.in_(job_ids)
            )
        ):
            depends[job_id].append(depends_on_id)
    summaries = tuple(
        JobSummary(
            id=job.id,
            kind=job.kind,
            description=job.description,
            state=RunState(job.state),
            subject_kind=job.subject_kind,
            subject_id=job.subject_id,
            cancellable=job.cancellable,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            depends_on=tuple(sorted(depends[job.id])),
            read_at=now,
        )
        for job in jobs
    )
    return CommandDetail(_command_summary(command, len(jobs), now), summaries, job_tree(summaries))


def job_steps(session: Session, job_id: int) -> tuple[StepRecord, ...]:
    """The steps of one job in order, with their output so far."""
    steps = list(
        session.scalars(
            select(Step)
            .where(Step.job_id == job_id)
            .order_by(Step.index)
            .options(selectinload(Step.host))
        )
    )
    return tuple(
        StepRecord(
            id=step.id,
            job_id=step.job_id,
            index=step.index,
            count=len(steps),
            description=step.description,
            action=step.action,
            args=_json_text(step.args),
            server=step.host.label if step.host is not None else None,
            command_lines=tuple(tuple(line) for line in step.command_lines or ()),
            state=RunState(step.state),
            stdout=step.stdout or "",
            stderr=step.stderr or "",
            result=_json_text(step.result),
            error=step.error,
            started_at=step.started_at,
            finished_at=step.finished_at,
        )
        for step in steps
    )
