"""The job scheduler: plans requests, saves them as commands of jobs, runs the jobs through the
agent gateway, and records every outcome truthfully.

Layer: core. Thread: the database worker's; every method runs there. The gateway answers on its
own threads only by appending to the inbox; `pump()` takes what arrived, applies it in one
transaction, starts whatever became ready, and repeats until nothing is left. Tests drive it
with in-memory fakes and call `pump()`; no threads, no sleeps.

What a user of IML suffered, and what this does instead: a job's object changes state only when
the job really succeeded; a failed job cancels the jobs that needed it, with the reason; cancel
reaches running agent actions; a job whose steps cannot be built fails at once with the reason;
and after a crash nothing is left "running": see `recover()`.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import inventory
from core.database import Database
from core.errors import (
    ChromaError,
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from core.inventory import InodeOptions
from core.models import (
    Command,
    ConfParam,
    Event,
    Filesystem,
    Host,
    Job,
    LNetConfiguration,
    Nid,
    Severity,
    Step,
    Target,
    TargetKind,
    TargetMount,
    Volume,
    command_jobs,
    job_dependencies,
)
from core.models.lustre import ClientMount
from core.ports import (
    ActionOutput,
    ActionRequest,
    ActionResult,
    ActionStatus,
    AgentGateway,
    Clock,
    CommandRenderer,
    OutputStream,
)
from core.scheduler.dependencies import leaves, unsatisfied
from core.scheduler.imports import import_found, unknown_mounts
from core.scheduler.locks import LockTable
from core.scheduler.observe import LustreReport, corrections
from core.scheduler.planner import Existing, Plan, PlannedJob, Planner
from core.scheduler.pools import (
    POOL_ACTIONS,
    PoolRequest,
    is_pool_job,
    plan_pool_change,
    record_step,
    steps_to_run,
)
from core.scheduler.pools import reconcile as reconcile_pools
from core.scheduler.rules import (
    MACHINE_OF,
    StepPlan,
    needs,
    requirements,
    steps,
)
from core.scheduler.rules import (
    dependents as dependents_of,
)
from core.scheduler.world import (
    CLIENT_MOUNT,
    FILESYSTEM,
    HOST,
    LNET,
    TARGET,
    HostNode,
    Ref,
    World,
    load_world,
)
from core.scheduler.writes import PendingWrites
from core.states import FilesystemState, RunState, TargetState
from core.validation import normalise_nid

DEFAULT_PER_SERVER_LIMIT = 4
SCHEDULER_ACTOR = "scheduler"
INTERRUPTED_REASON = (
    "Chroma Desktop stopped while this ran, so what happened on the server is not known. "
    "The objects it touched are checked again with their agents; nothing is re-run unless you "
    "ask."
)
NOT_STARTED_REASON = "Not started: Chroma Desktop stopped before it could run. Ask again to run it."


class ConfirmationRequired(ChromaError):
    """A destructive request was made without confirming it."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        super().__init__(" ".join(texts), hint="Confirm to go ahead.")


# --- events published to the window, the CLI and the API ---------------------------------------


@dataclass(frozen=True)
class CommandChanged:
    command_id: int
    state: RunState


@dataclass(frozen=True)
class JobChanged:
    job_id: int
    state: RunState
    error: str | None


@dataclass(frozen=True)
class StepChanged:
    step_id: int
    job_id: int
    state: RunState


@dataclass(frozen=True)
class StepOutputArrived:
    step_id: int
    stream: OutputStream
    text: str


@dataclass(frozen=True)
class ObjectChanged:
    ref: Ref
    state: str


@dataclass(frozen=True)
class RecheckNeeded:
    """These objects' real states are unknown (a job was interrupted): ask their agents."""

    refs: tuple[Ref, ...]


SchedulerEvent = (
    CommandChanged | JobChanged | StepChanged | StepOutputArrived | ObjectChanged | RecheckNeeded
)


# --- what a plan looks like to the admin -------------------------------------------------------


@dataclass(frozen=True)
class FilesystemRequest:
    """A new filesystem from chosen volumes: an existing MGS or a volume for a new MGT."""

    name: str
    mdt_volume_ids: tuple[int, ...]
    ost_volume_ids: tuple[int, ...]
    mgt_volume_id: int | None = None
    mgs_id: int | None = None
    mdt_inode: InodeOptions = field(default_factory=InodeOptions)
    """Inode size, bytes per inode or count for the MDTs' format (mkfs.lustre's defaults)."""
    ost_inode: InodeOptions = field(default_factory=InodeOptions)


@dataclass(frozen=True)
class StepPreview:
    description: str
    host: str | None
    action: str | None
    args: Mapping[str, Any]
    command_lines: tuple[tuple[str, ...], ...]
    unknown_until_run: str | None


@dataclass(frozen=True)
class JobPreview:
    key: int
    kind: str
    description: str
    subject: str
    from_state: str | None
    to_state: str | None
    confirmation: str | None
    cancellable: bool
    after: tuple[int, ...]
    """Keys of the jobs of this plan it waits for."""
    after_existing: tuple[int, ...]
    """Ids of jobs already planned by earlier commands that it waits for."""
    steps: tuple[StepPreview, ...]


@dataclass(frozen=True)
class PlanPreview:
    message: str
    jobs: tuple[JobPreview, ...]
    confirmations: tuple[str, ...]
    shared_job_ids: tuple[int, ...]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.confirmations)


@dataclass(frozen=True)
class TransitionOption:
    state: str
    verb: str
    jobs: tuple[str, ...]
    confirmation: tuple[str, ...]


@dataclass(frozen=True)
class JobOption:
    kind: str
    verb: str
    confirmation: str | None


# --- the running state of unfinished jobs ------------------------------------------------------


@dataclass
class _RunStep:
    id: int
    host_id: int | None
    action: str | None
    args: dict[str, Any]
    description: str


@dataclass
class _RunJob:
    id: int
    kind: str
    ref: Ref
    from_state: str | None
    to_state: str | None
    description: str
    cancellable: bool
    state: RunState = RunState.PENDING
    waiting_for: set[int] = field(default_factory=set)
    failed_dependencies: list[str] = field(default_factory=list)
    required: set[int] = field(default_factory=set)
    """The jobs the planner made this one depend on: if one does not succeed, this one does
    not run (the others it waits for only come first)."""
    failed_required: list[str] = field(default_factory=list)
    steps: list[_RunStep] = field(default_factory=list)
    next_step: int = 0
    running_step: _RunStep | None = None
    cancel_requested: str | None = None
    results: list[Any] = field(default_factory=list)
    planned: list[StepPlan] = field(default_factory=list)
    step_ids: list[int] = field(default_factory=list)
    answered_at: datetime | None = None
    """When the agent's answer to its latest step arrived (the desktop's clock)."""


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


JOBS = _table(Job)
STEPS = _table(Step)
COMMANDS = _table(Command)
EVENTS = _table(Event)
TARGETS = _table(Target)
FILESYSTEMS = _table(Filesystem)
MOUNTS = _table(TargetMount)
LNETS = _table(LNetConfiguration)
_STATE_TABLE: dict[str, Table] = {
    HOST: _table(Host),
    TARGET: TARGETS,
    FILESYSTEM: FILESYSTEMS,
    CLIENT_MOUNT: _table(ClientMount),
}


class Scheduler:
    def __init__(
        self,
        database: Database,
        gateway: AgentGateway,
        renderer: CommandRenderer,
        clock: Clock,
        *,
        per_server_limit: int = DEFAULT_PER_SERVER_LIMIT,
        publish: Callable[[SchedulerEvent], None] | None = None,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.renderer = renderer
        self.clock = clock
        self.per_server_limit = per_server_limit
        self._publish = publish or (lambda event: None)
        self._inbox: deque[tuple[str, int, Any]] = deque()
        self._inbox_lock = threading.Lock()
        self.locks = LockTable()
        self.world = World()
        self._jobs: dict[int, _RunJob] = {}
        self._dependents: dict[int, set[int]] = defaultdict(set)
        self._command_jobs: dict[int, set[int]] = {}
        self._job_commands: dict[int, set[int]] = defaultdict(set)
        self._ready: deque[int] = deque()
        self._busy: Counter[int] = Counter()
        self._host_queue: dict[int, deque[int]] = defaultdict(deque)
        self._steps_by_id: dict[int, int] = {}
        self._outbox: list[SchedulerEvent] = []
        self._events: list[dict[str, Any]] = []
        self._writes = PendingWrites()
        self._activations: dict[int, int | None] = {}
        self._command_outcomes: dict[int, list[RunState]] = {}
        self._running_commands: set[int] = set()
        self._last_reports: dict[int, LustreReport] = {}
        self._answered_at: dict[Ref, datetime] = {}
        """When the last answer of the last job on each object arrived: a report received before
        it was taken before that job's outcome, which is newer (see `_stale`)."""
        """Each server's newest Lustre report, offered again when an import finds an MGS."""
        self.on_inbox: Callable[[], None] = lambda: None
        """Called (on any thread) when gateway news arrives; the host arranges a pump()."""

    # --- start and recovery ---------------------------------------------------------------------

    def start(self) -> list[Ref]:
        """Recover from whatever the last run left behind, then load the world. Returns the
        objects whose real state must be re-read from their agents."""
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            recheck = self._recover(session)
            self.world = load_world(session)
        if recheck:
            self._outbox.append(RecheckNeeded(tuple(recheck)))
        self._flush_events()
        return recheck

    def _recover(self, session: Session) -> list[Ref]:
        now = self.clock.now()
        interrupted = session.execute(
            select(Job.id, Job.subject_kind, Job.subject_id).where(Job.state == RunState.RUNNING)
        ).all()
        session.execute(
            update(Step)
            .where(Step.state == RunState.RUNNING)
            .values(state=RunState.INTERRUPTED, error=INTERRUPTED_REASON, finished_at=now)
        )
        session.execute(
            update(Step).where(Step.state == RunState.PENDING).values(state=RunState.CANCELLED)
        )
        session.execute(
            update(Job)
            .where(Job.state == RunState.RUNNING)
            .values(state=RunState.INTERRUPTED, error=INTERRUPTED_REASON, finished_at=now)
        )
        session.execute(
            update(Job)
            .where(Job.state == RunState.PENDING)
            .values(state=RunState.CANCELLED, error=NOT_STARTED_REASON, finished_at=now)
        )
        for command in session.scalars(
            select(Command).where(Command.state.in_([RunState.PENDING, RunState.RUNNING]))
        ):
            command.state = _command_outcome([job.state for job in command.jobs])
            command.finished_at = now
        refs = sorted({(kind, ident) for _, kind, ident in interrupted if kind and ident})
        for kind, ident in refs:
            session.add(
                Event(
                    created_at=now,
                    severity=Severity.WARNING,
                    kind="job",
                    subject_kind=kind,
                    subject_id=ident,
                    message=f"A job on this {kind} was interrupted when Chroma Desktop stopped; "
                    "its real state is being checked with the agents.",
                )
            )
        return refs

    # --- planning -------------------------------------------------------------------------------

    def _refresh_world(self, session: Session) -> None:
        self.world = load_world(session)

    def preview_state(self, ref: Ref, state: str) -> PlanPreview:
        """The dry run of `ref` → `state`: nothing is saved or run."""
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            self._refresh_world(session)
            plan = Planner(self.world, self.locks, self._describe_job).plan_state(
                self._message(ref, state), ref, state
            )
            return self._preview(plan)

    def request_state(
        self,
        ref: Ref,
        state: str,
        *,
        actor: str,
        confirmed: bool = False,
        message: str | None = None,
    ) -> int:
        """Plan and start `ref` → `state`; returns the command's id."""
        with self.database.session(actor=actor) as session:
            self._refresh_world(session)
            plan = Planner(self.world, self.locks, self._describe_job).plan_state(
                message or self._message(ref, state), ref, state
            )
            command_id = self._save(session, plan, actor, confirmed)
        self.pump()
        return command_id

    def preview_create_filesystem(self, request: FilesystemRequest) -> PlanPreview:
        """The dry run of creating a filesystem: nothing is saved."""
        with self._scratch() as session:
            return self._preview(self._plan_new_filesystem(session, request))

    def create_filesystem(
        self, request: FilesystemRequest, *, actor: str, confirmed: bool = False
    ) -> int:
        """Create a filesystem from chosen volumes and bring it up, as one command."""
        with self.database.session(actor=actor) as session:
            command_id = self._save(
                session, self._plan_new_filesystem(session, request), actor, confirmed
            )
        self.pump()
        return command_id

    def _plan_new_filesystem(self, session: Session, request: FilesystemRequest) -> Plan:
        def volumes(ids: Sequence[int]) -> list[Volume]:
            return [inventory.get_live(session, Volume, ident) for ident in ids]

        mgs = (
            None if request.mgs_id is None else inventory.get_live(session, Target, request.mgs_id)
        )
        mgt_volume = (
            None
            if request.mgt_volume_id is None
            else inventory.get_live(session, Volume, request.mgt_volume_id)
        )
        filesystem = inventory.create_filesystem(
            session,
            request.name,
            mgs=mgs,
            mgt_volume=mgt_volume,
            mdt_volumes=volumes(request.mdt_volume_ids),
            ost_volumes=volumes(request.ost_volume_ids),
            mdt_inode=request.mdt_inode,
            ost_inode=request.ost_inode,
        )
        self._refresh_world(session)
        return Planner(self.world, self.locks, self._describe_job).plan_state(
            f"Create filesystem {request.name}", (FILESYSTEM, filesystem.id), "available"
        )

    def preview_add_servers(
        self, addresses: Sequence[str], profile: str | None = None
    ) -> PlanPreview:
        with self._scratch() as session:
            return self._preview(self._plan_new_servers(session, addresses, profile))

    @contextmanager
    def _scratch(self) -> Iterator[Session]:
        """A session rolled back at the end, for dry runs of requests that create objects; the
        world they planned on (with those objects) is dropped too, keeping the run loop's."""
        world = self.world
        try:
            with self.database.scratch_session(actor=SCHEDULER_ACTOR) as session:
                yield session
        finally:
            self.world = world

    def add_servers(
        self, addresses: Sequence[str], *, actor: str, profile: str | None = None
    ) -> int:
        """Add servers and set each up, as one command; all or none are added."""
        with self.database.session(actor=actor) as session:
            plan = self._plan_new_servers(session, addresses, profile)
            command_id = self._save(session, plan, actor, confirmed=True)
        self.pump()
        return command_id

    def _plan_new_servers(
        self, session: Session, addresses: Sequence[str], profile: str | None
    ) -> Plan:
        if not addresses:
            raise ValidationError("servers", [], "give at least one server address")
        hosts = [inventory.add_host(session, address, profile) for address in addresses]
        self._refresh_world(session)
        names = ", ".join(host.address for host in hosts)
        return Planner(self.world, self.locks, self._describe_job).plan_states(
            f"Add server{'s' if len(hosts) > 1 else ''} {names}",
            [((HOST, host.id), "configured") for host in hosts],
        )

    def preview_job(self, kind: str, ref: Ref) -> PlanPreview:
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            self._refresh_world(session)
            return self._preview(self._plan_job(session, kind, ref))

    def request_job(self, kind: str, ref: Ref, *, actor: str, confirmed: bool = False) -> int:
        """Plan and start an advertised job (FailoverTargetJob, FailbackTargetJob,
        ApplyConfParamsJob) on `ref`."""
        with self.database.session(actor=actor) as session:
            self._refresh_world(session)
            plan = self._plan_job(session, kind, ref)
            command_id = self._save(session, plan, actor, confirmed)
        self.pump()
        return command_id

    def _plan_job(self, session: Session, kind: str, ref: Ref) -> Plan:
        options = {option.kind: option for option in self._job_options(session, ref)}
        if kind not in options:
            name = self.world.name(ref) if self.world.exists(ref) else f"{ref[0]} {ref[1]}"
            offered = ", ".join(options) or "none"
            raise InvalidTransitionError(f"{kind} cannot run on {name} now (available: {offered}).")
        option = options[kind]
        planner = Planner(self.world, self.locks, self._describe_job)
        plan = planner.plan_job(
            f"{option.verb} {self.world.name(ref)}",
            kind,
            ref,
            f"{option.verb} {self.world.name(ref)}",
            option.confirmation,
        )
        if kind == "ApplyConfParamsJob":
            job = plan.jobs[-1]
            job.steps = self._conf_param_steps(session, ref[1])
        return plan

    def preview_pool_change(self, request: PoolRequest) -> PlanPreview:
        """The dry run of an OST pool change (see `pools.py`): nothing is saved."""
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            return self._preview(self._plan_pool(session, request))

    def request_pool_change(
        self, request: PoolRequest, *, actor: str, confirmed: bool = False
    ) -> int:
        """Plan and start an OST pool change on the filesystem's MGS; returns the command."""
        with self.database.session(actor=actor) as session:
            plan = self._plan_pool(session, request)
            command_id = self._save(session, plan, actor, confirmed)
        self.pump()
        return command_id

    def _plan_pool(self, session: Session, request: PoolRequest) -> Plan:
        self._refresh_world(session)
        filesystem = self.world.filesystems.get(request.filesystem_id)
        if filesystem is None:
            raise NotFoundError(f"There is no filesystem with id {request.filesystem_id}.")
        planner = Planner(self.world, self.locks, self._describe_job)
        mgs = (TARGET, filesystem.mgs_id)
        pool_job = plan_pool_change(session, self.world, request, planner.state_of(mgs))
        plan = planner.plan_job(
            pool_job.description,
            pool_job.kind,
            mgs,
            pool_job.description,
            pool_job.confirmation,
        )
        job = plan.jobs[-1]
        job.steps = pool_job.steps
        job.reads.add((FILESYSTEM, filesystem.id))  # removing the filesystem waits for it
        return plan

    def _describe_job(self, job_id: int) -> str:
        job = self._jobs.get(job_id)
        return job.description if job is not None else f"job {job_id}"

    def _message(self, ref: Ref, state: str) -> str:
        machine = MACHINE_OF[ref[0]]
        name = self.world.name(ref) if self.world.exists(ref) else f"{ref[0]} {ref[1]}"
        verbs = {t.target.value: t.verb for t in machine.transitions if t.verb}
        verb = verbs.get(state)
        if ref[0] == LNET and verb:
            return f"{verb} on {self.world.hosts[ref[1]].label}"
        return f"{verb} {name}" if verb else f"Make {name} {state}"

    def _preview(self, plan: Plan) -> PlanPreview:
        jobs = []
        for job in plan.jobs:
            jobs.append(
                JobPreview(
                    key=job.key,
                    kind=job.kind,
                    description=job.description,
                    subject=self.world.name(job.ref),
                    from_state=job.from_state,
                    to_state=job.to_state,
                    confirmation=job.confirmation,
                    cancellable=job.cancellable,
                    after=tuple(sorted(h for h in job.after if isinstance(h, int))),
                    after_existing=tuple(
                        sorted(h.job_id for h in job.after if isinstance(h, Existing))
                    ),
                    steps=tuple(self._step_preview(step) for step in job.steps),
                )
            )
        return PlanPreview(
            message=plan.message,
            jobs=tuple(jobs),
            confirmations=tuple(plan.confirmations),
            shared_job_ids=tuple(sorted(plan.shared)),
        )

    def _step_preview(self, step: StepPlan) -> StepPreview:
        lines: tuple[tuple[str, ...], ...] = ()
        if step.action is not None and step.unknown_until_run is None:
            lines = tuple(
                tuple(line) for line in self.renderer.command_lines(step.action, step.args)
            )
        host = self.world.hosts[step.host_id].label if step.host_id is not None else None
        return StepPreview(
            step.description, host, step.action, dict(step.args), lines, step.unknown_until_run
        )

    # --- saving a plan --------------------------------------------------------------------------

    def _save(self, session: Session, plan: Plan, actor: str, confirmed: bool) -> int:
        texts = plan.confirmations
        if texts and not confirmed:
            raise ConfirmationRequired(texts)
        now = self.clock.now()
        command = Command(message=plan.message, actor=actor, created_at=now, state=RunState.PENDING)
        session.add(command)
        session.flush()
        connection = session.connection()
        job_ids: list[int] = []
        if plan.jobs:
            job_ids = list(
                connection.scalars(
                    insert(JOBS).returning(JOBS.c.id, sort_by_parameter_order=True),
                    [self._job_row(job, now) for job in plan.jobs],
                )
            )
        key_to_id = dict(enumerate(job_ids))
        dependency_rows = []
        step_rows = []
        for job, job_id in zip(plan.jobs, job_ids, strict=True):
            explicit = {key_to_id[h] if isinstance(h, int) else h.job_id for h in job.after}
            waits = self.locks.add(job_id, writes=job.writes, reads=job.reads)
            for depends_on in sorted(explicit | {w for w in waits if isinstance(w, int)}):
                dependency_rows.append({"job_id": job_id, "depends_on_id": depends_on})
            run = _RunJob(
                job_id,
                job.kind,
                job.ref,
                job.from_state,
                job.to_state,
                job.description,
                job.cancellable,
            )
            run.waiting_for = {d for d in explicit | set(waits) if d in self._jobs}
            run.required = explicit & run.waiting_for
            for dependency in run.waiting_for:
                self._dependents[dependency].add(job_id)
            self._jobs[job_id] = run
            run.planned = list(job.steps)
            step_rows += [self._step_row(job_id, i, step) for i, step in enumerate(job.steps)]
        if dependency_rows:
            connection.execute(insert(job_dependencies), dependency_rows)
        if step_rows:
            step_ids = iter(
                connection.scalars(
                    insert(STEPS).returning(STEPS.c.id, sort_by_parameter_order=True), step_rows
                )
            )
            for job_id in job_ids:
                run = self._jobs[job_id]
                run.step_ids = [next(step_ids) for _ in run.planned]
        members = sorted(set(job_ids) | {h for h in plan.shared if h in self._jobs})
        if members:
            connection.execute(
                insert(command_jobs), [{"command_id": command.id, "job_id": j} for j in members]
            )
            self._command_jobs[command.id] = set(members)
            self._command_outcomes[command.id] = []
            for job_id in members:
                self._job_commands[job_id].add(command.id)
        else:
            command.state = RunState.SUCCEEDED
            command.finished_at = now
        for job_id in job_ids:
            if not self._jobs[job_id].waiting_for:
                self._ready.append(job_id)
        self._outbox.append(CommandChanged(command.id, command.state))
        return command.id

    @staticmethod
    def _job_row(job: PlannedJob, now: Any) -> dict[str, Any]:
        return {
            "kind": job.kind,
            "description": job.description,
            "state": RunState.PENDING,
            "subject_kind": job.ref[0],
            "subject_id": job.ref[1],
            "from_state": job.from_state,
            "to_state": job.to_state,
            "cancellable": job.cancellable,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
            "error": None,
            "locks": [
                *({"kind": r[0], "id": r[1], "write": True, "end": s} for r, s in job.writes),
                *({"kind": r[0], "id": r[1], "write": False} for r in sorted(job.reads)),
            ],
        }

    def _step_row(self, job_id: int, index: int, step: StepPlan) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "index": index,
            "description": step.description,
            "action": step.action,
            "args": dict(step.args),
            "host_id": step.host_id,
            "command_lines": self._lines(step),
            "state": RunState.PENDING,
            "stdout": "",
            "stderr": "",
            "result": None,
            "error": None,
            "started_at": None,
            "finished_at": None,
        }

    def _lines(self, step: StepPlan) -> list[list[str]]:
        if step.action is None or step.unknown_until_run is not None:
            return []
        return self.renderer.command_lines(step.action, step.args)

    # --- the run loop ---------------------------------------------------------------------------

    def _post(self, kind: str, step_id: int, payload: Any) -> None:
        with self._inbox_lock:
            self._inbox.append((kind, step_id, payload))
        self.on_inbox()

    def pump(self) -> int:
        """Apply what arrived and start what became ready, until nothing is left; returns the
        number of transactions it took."""
        rounds = 0
        while True:
            with self._inbox_lock:
                arrived = list(self._inbox)
                self._inbox.clear()
            if not arrived and not self._ready:
                break
            with self.database.session(actor=SCHEDULER_ACTOR) as session:
                for kind, step_id, payload in arrived:
                    if kind == "output":
                        self._on_output(step_id, payload)
                    else:
                        self._on_result(session, step_id, payload)
                self._dispatch(session)
                self._write(session)
            rounds += 1
            self._flush_events()
        self._flush_events()
        return rounds

    def _write(self, session: Session) -> None:
        connection = session.connection()
        if self._activations:
            connection.execute(
                update(MOUNTS).where(MOUNTS.c.target_id == bindparam("t")).values(active=False),
                [{"t": target} for target in self._activations],
            )
            chosen = [{"t": t, "h": h} for t, h in self._activations.items() if h is not None]
            if chosen:
                connection.execute(
                    update(MOUNTS)
                    .where(MOUNTS.c.target_id == bindparam("t"), MOUNTS.c.host_id == bindparam("h"))
                    .values(active=True),
                    chosen,
                )
            self._activations.clear()
        if self._writes:
            self._writes.flush(connection)
        if self._events:
            session.connection().execute(insert(EVENTS), self._events)
            self._events = []

    def _flush_events(self) -> None:
        events, self._outbox = self._outbox, []
        for event in events:
            self._publish(event)

    @property
    def idle(self) -> bool:
        return not self._jobs and not self._inbox

    def _dispatch(self, session: Session) -> None:
        while self._ready:
            job = self._jobs.get(self._ready.popleft())
            if job is None or job.state != RunState.PENDING:
                continue
            reason = self._recheck(job)
            if reason is not None:
                self._finish(job, RunState.CANCELLED, reason)
                continue
            try:
                self._prepare_steps(session, job)
            except (ChromaError, ValueError) as error:
                self._finish(job, RunState.FAILED, f"Its steps could not be built: {error}")
                continue
            job.state = RunState.RUNNING
            self._writes.set(JOBS, job.id, state=RunState.RUNNING, started_at=self.clock.now())
            self._outbox.append(JobChanged(job.id, RunState.RUNNING, None))
            for command_id in self._job_commands.get(job.id, ()):
                if command_id not in self._running_commands:
                    self._running_commands.add(command_id)
                    self._writes.set(COMMANDS, command_id, state=RunState.RUNNING)
                    self._outbox.append(CommandChanged(command_id, RunState.RUNNING))
            self._advance(session, job)

    def _recheck(self, job: _RunJob) -> str | None:
        """Why the job can no longer run as planned, judged on the real states now."""
        world = self.world
        if job.cancel_requested:
            return job.cancel_requested
        if not world.exists(job.ref):
            return f"{job.ref[0]} {job.ref[1]} no longer exists."
        if job.failed_required:
            return f"It did not run because {'; '.join(job.failed_required)}."
        current = world.state(job.ref)
        because = ""
        if job.failed_dependencies:
            because = f" because {'; '.join(job.failed_dependencies)}"
        if job.from_state is not None and current != job.from_state:
            return f"{world.name(job.ref)} is {current}, not {job.from_state} as planned{because}."
        for dependency in unsatisfied(needs(world, job.kind, job.ref), world.state):
            return (
                f"It needs {world.name(dependency.ref)} {dependency.preferred}, but it is "
                f"{world.state(dependency.ref)}{because}."
            )
        if job.to_state is not None:
            # Those that depend on this object must already be where it leaves them.
            for dependent in dependents_of(world, job.ref):
                if not world.exists(dependent):
                    continue
                state = world.state(dependent)
                for leaf in leaves(requirements(world, dependent, state, world.state)):
                    if leaf.ref == job.ref and job.to_state not in leaf.acceptable:
                        return (
                            f"{world.name(dependent)} is {state} and still depends on "
                            f"{world.name(job.ref)}{because}."
                        )
        return None

    def _prepare_steps(self, session: Session, job: _RunJob) -> None:
        """Rebuild the steps from the real state now (NIDs may have been learned since the
        plan) and save any that changed."""
        if job.kind == "ApplyConfParamsJob":
            plans = self._conf_param_steps(session, job.ref[1])
        elif is_pool_job(job.kind):
            plans = steps_to_run(self.world, job.ref, job.planned)
        else:
            plans = steps(self.world, job.kind, job.ref, self.world.state)
        for plan in plans:
            if plan.unknown_until_run:
                raise ConflictError(f"{plan.description} cannot run yet: {plan.unknown_until_run}.")
        if len(plans) != len(job.planned):
            connection = session.connection()
            connection.execute(delete(STEPS).where(STEPS.c.job_id == job.id))
            job.step_ids = (
                list(
                    connection.scalars(
                        insert(STEPS).returning(STEPS.c.id, sort_by_parameter_order=True),
                        [self._step_row(job.id, i, p) for i, p in enumerate(plans)],
                    )
                )
                if plans
                else []
            )
        else:
            for step_id, old, new in zip(job.step_ids, job.planned, plans, strict=True):
                if old != new:
                    self._writes.set(
                        STEPS,
                        step_id,
                        action=new.action,
                        args=dict(new.args),
                        command_lines=self._lines(new),
                        host_id=new.host_id,
                        description=new.description,
                    )
        job.planned = plans
        job.steps = [
            _RunStep(step_id, plan.host_id, plan.action, dict(plan.args), plan.description)
            for step_id, plan in zip(job.step_ids, plans, strict=True)
        ]
        for step in job.steps:
            self._steps_by_id[step.id] = job.id

    def _advance(self, session: Session, job: _RunJob) -> None:
        """Start the job's next step, or finish it: succeeded when every step really ran, even
        if a cancel arrived while the last one could not be interrupted."""
        if job.next_step >= len(job.steps):
            self._succeed(session, job)
            return
        if job.cancel_requested:
            self._finish(job, RunState.CANCELLED, job.cancel_requested)
            return
        step = job.steps[job.next_step]
        if step.action is None or step.host_id is None:
            self._step_done(job, step, RunState.SUCCEEDED, None)
            job.next_step += 1
            self._advance(session, job)
            return
        if self._busy[step.host_id] >= self.per_server_limit:
            self._host_queue[step.host_id].append(job.id)
            return
        self._busy[step.host_id] += 1
        job.running_step = step
        self._writes.set(STEPS, step.id, state=RunState.RUNNING, started_at=self.clock.now())
        self._outbox.append(StepChanged(step.id, job.id, RunState.RUNNING))
        request = ActionRequest(
            action_id=_action_id(step.id),
            host=self.world.hosts[step.host_id].address,
            action=step.action,
            args=step.args,
        )
        step_id = step.id
        try:
            future = self.gateway.run_action(
                request, lambda output: self._post("output", step_id, output)
            )
        except Exception as error:  # the gateway refused outright: the step failed
            failed: Future[ActionResult] = Future()
            failed.set_exception(error)
            future = failed
        # Stamped as it arrives (the gateway's thread), like agents' reports: see `_stale`.
        future.add_done_callback(
            lambda done: self._post("result", step_id, (done, self.clock.now()))
        )

    def _on_output(self, step_id: int, output: ActionOutput) -> None:
        self._writes.append(STEPS, step_id, output.stream.value, output.text)
        self._outbox.append(StepOutputArrived(step_id, output.stream, output.text))

    def _on_result(
        self, session: Session, step_id: int, answer: tuple[Future[ActionResult], datetime]
    ) -> None:
        done, arrived = answer
        job = self._jobs.get(self._steps_by_id.pop(step_id, -1))
        if job is None or job.running_step is None or job.running_step.id != step_id:
            return  # a late answer for a job already ended (e.g. after an interruption)
        job.answered_at = arrived
        step = job.running_step
        job.running_step = None
        assert step.host_id is not None
        self._busy[step.host_id] -= 1
        self._wake_host(session, step.host_id)
        try:
            result = done.result()
        except Exception as refusal:
            result = ActionResult(
                action_id=_action_id(step_id),
                status=ActionStatus.FAILED,
                error=f"The action could not be sent: {refusal}",
            )
        state = {
            ActionStatus.SUCCEEDED: RunState.SUCCEEDED,
            ActionStatus.FAILED: RunState.FAILED,
            ActionStatus.CANCELLED: RunState.CANCELLED,
            ActionStatus.LOST: RunState.INTERRUPTED,
        }[result.status]
        error = result.error
        if result.status == ActionStatus.LOST:
            error = f"The outcome is unknown: {error or 'the agent has no record of the action'}."
        self._step_done(job, step, state, error, result)
        job.next_step += 1  # this step has ended, however: the job's later steps have not run
        if state == RunState.SUCCEEDED:
            job.results.append(result.result)
            if step.action in POOL_ACTIONS:  # the MGS holds it now, whatever comes next
                record_step(
                    session, self.world, job.ref[1], step.action, step.args, self.clock.now()
                )
            self._advance(session, job)
        else:
            where = self.world.hosts[step.host_id].label
            reason = {
                RunState.FAILED: f"{step.description} failed on {where}: {error}",
                RunState.CANCELLED: job.cancel_requested or f"{step.description} was cancelled.",
                RunState.INTERRUPTED: f"{step.description}: {error}",
            }[state]
            self._finish(job, state, reason)

    def _step_done(
        self,
        job: _RunJob,
        step: _RunStep,
        state: RunState,
        error: str | None,
        result: ActionResult | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "error": error, "finished_at": self.clock.now()}
        if result is not None:
            values["result"] = result.result
            if result.stdout:
                values["stdout"] = result.stdout
            if result.stderr:
                values["stderr"] = result.stderr
        self._writes.set(STEPS, step.id, **values)
        self._outbox.append(StepChanged(step.id, job.id, state))

    def _wake_host(self, session: Session, host_id: int) -> None:
        queue = self._host_queue.get(host_id)
        while queue and self._busy[host_id] < self.per_server_limit:
            job = self._jobs.get(queue.popleft())
            if job is not None and job.state == RunState.RUNNING:
                self._advance(session, job)

    # --- finishing ------------------------------------------------------------------------------

    def _succeed(self, session: Session, job: _RunJob) -> None:
        try:
            self._apply_success(session, job)
        except ChromaError as error:
            self._finish(job, RunState.FAILED, str(error))
            return
        self._finish(job, RunState.SUCCEEDED, None)

    def _apply_success(self, session: Session, job: _RunJob) -> None:
        """The job really happened: record its effects, then the object's new state."""
        kind, ident = job.ref
        now = self.clock.now()
        results = [r for r in job.results if isinstance(r, dict)]
        if job.kind == "FormatTargetJob" and results:
            values = {
                k: results[0][k]
                for k in ("uuid", "inode_size", "inode_count")
                if results[0].get(k) is not None
            }
            if values:
                self._writes.set(TARGETS, ident, **values)
        if job.kind == "RegisterTargetJob" and results and results[0].get("label"):
            expected = self.world.targets[ident].name
            if results[0]["label"] != expected:
                raise ConflictError(
                    f"The MGS registered the target as {results[0]['label']}, not {expected}."
                )
        if job.kind == "StartLNetJob" and results and isinstance(results[-1].get("nids"), list):
            self._learn_nids(session, ident, results[-1]["nids"])
        if job.kind in ("StartTargetJob", "FailoverTargetJob", "FailbackTargetJob"):
            self._set_active_mount(ident, job.steps[-1].host_id)
        if job.kind == "StopTargetJob":
            self._set_active_mount(ident, None)
        if job.kind == "ApplyConfParamsJob":
            applied = session.scalar(
                select(func.max(ConfParam.version)).where(ConfParam.mgs_id == ident)
            )
            self._writes.set(TARGETS, ident, conf_param_version_applied=applied or 0)
        if job.to_state is None:
            return
        self._set_state(job.ref, job.to_state, now, f"{job.description}, job {job.id}")
        if job.to_state in ("removed", "forgotten"):
            self._remove(session, job.ref, now)
        if kind == TARGET:
            self._derive_filesystem_state(ident, now)

    def _set_state(self, ref: Ref, state: str, now: Any, cause: str) -> None:
        kind, ident = ref
        if kind == LNET:
            self._writes.set(LNETS, ident, by="host_id", state=state, state_modified_at=now)
        else:
            self._writes.set(_STATE_TABLE[kind], ident, state=state, state_modified_at=now)
        self.world.set_state(ref, state)
        self._outbox.append(ObjectChanged(ref, state))
        self._events.append(
            {
                "created_at": now,
                "severity": Severity.INFO,
                "kind": "job",
                "host_id": ident if kind in (HOST, LNET) else None,
                "subject_kind": kind,
                "subject_id": ident,
                "alert_id": None,
                "message": f"{self.world.name(ref)} is now {state} ({cause}).",
            }
        )

    def _learn_nids(self, session: Session, host_id: int, reported: list[object]) -> None:
        """The NIDs `lctl list_nids` printed when LNet came up: the server's NIDs from now on
        (formatting writes them into targets). Unreadable ones are left out."""
        nids: list[str] = []
        for nid in reported:
            try:
                normalised = normalise_nid(str(nid))
            except ValidationError:
                continue  # the loopback NID, or garbage
            if normalised not in nids:
                nids.append(normalised)
        if not nids:
            return
        self.world.hosts[host_id].nids = tuple(nids)
        lnet = session.scalar(select(LNetConfiguration).where(LNetConfiguration.host_id == host_id))
        if lnet is not None and [n.nid_string for n in lnet.nids] != nids:
            lnet.nids = [Nid(nid_string=nid) for nid in nids]  # (the agent's report may be first)
            session.flush()

    def _set_active_mount(self, target_id: int, host_id: int | None) -> None:
        """Where a target now runs; written at the end of the round, all deactivations before
        any activation so that no target ever has two active mounts."""
        for mount in self.world.targets[target_id].mounts:
            mount.active = mount.host_id == host_id
        self._activations[target_id] = host_id

    def _remove(self, session: Session, ref: Ref, now: Any) -> None:
        kind, ident = ref
        if kind == HOST:
            self._write(session)  # the host's own row is changed through the ORM below
            host = session.get(Host, ident)
            if host is not None and host.is_live:
                inventory.delete_host(session, host)
                session.flush()
        else:
            self._writes.set(_STATE_TABLE[kind], ident, deleted_at=now)

    def _derive_filesystem_state(self, target_id: int, now: Any) -> None:
        """A filesystem is available when all its MDTs and OSTs run, stopped when none does,
        unavailable in between; unless a job of its own is changing it."""
        target = self.world.targets[target_id]
        filesystem_ids = (
            [target.filesystem_id]
            if target.filesystem_id is not None
            else self.world.filesystems_by_mgs.get(target_id, [])
        )
        for filesystem_id in filesystem_ids:
            filesystem = self.world.filesystems.get(filesystem_id)
            live = (FilesystemState.UNAVAILABLE, FilesystemState.STOPPED, FilesystemState.AVAILABLE)
            if filesystem is None or filesystem.state not in live:
                continue
            if self.locks.write_locked((FILESYSTEM, filesystem_id)):
                continue
            mounted = sum(
                self.world.targets[t].state == TargetState.MOUNTED for t in filesystem.member_ids
            )
            if filesystem.member_ids and mounted == len(filesystem.member_ids):
                derived = FilesystemState.AVAILABLE
            elif mounted == 0:
                derived = FilesystemState.STOPPED
            else:
                derived = FilesystemState.UNAVAILABLE
            if derived != filesystem.state:
                self._writes.set(FILESYSTEMS, filesystem_id, state=derived, state_modified_at=now)
                filesystem.state = derived
                self._outbox.append(ObjectChanged((FILESYSTEM, filesystem_id), derived))

    def _finish(self, job: _RunJob, state: RunState, error: str | None) -> None:
        job.state = state
        now = self.clock.now()
        self._jobs.pop(job.id, None)
        if job.answered_at is not None:
            known = self._answered_at.get(job.ref)
            self._answered_at[job.ref] = max(job.answered_at, known or job.answered_at)
        for step in job.steps:
            if step is not job.running_step:
                self._steps_by_id.pop(step.id, None)
        self._writes.set(JOBS, job.id, state=state, error=error, finished_at=now)
        started = job.next_step + (1 if job.running_step is not None else 0)
        for step_id in job.step_ids[started:] if job.steps else job.step_ids:
            self._writes.set(STEPS, step_id, state=RunState.CANCELLED)
        self._outbox.append(JobChanged(job.id, state, error))
        self.locks.release(job.id)
        for dependent_id in sorted(self._dependents.pop(job.id, ())):
            dependent = self._jobs.get(dependent_id)
            if dependent is None:
                continue
            dependent.waiting_for.discard(job.id)
            if state != RunState.SUCCEEDED:
                dependent.failed_dependencies.append(f"{job.description} {state}")
                if job.id in dependent.required:
                    dependent.failed_required.append(f"{job.description} {state}")
            if not dependent.waiting_for:
                self._ready.append(dependent_id)
        for command_id in sorted(self._job_commands.pop(job.id, ())):
            remaining = self._command_jobs.get(command_id)
            if remaining is None:
                continue
            remaining.discard(job.id)
            self._command_outcomes[command_id].append(state)
            if not remaining:
                del self._command_jobs[command_id]
                outcome = _command_outcome(self._command_outcomes.pop(command_id))
                self._running_commands.discard(command_id)
                self._writes.set(COMMANDS, command_id, state=outcome, finished_at=now)
                self._outbox.append(CommandChanged(command_id, outcome))

    # --- cancel ---------------------------------------------------------------------------------

    def cancel_command(self, command_id: int, *, actor: str) -> None:
        """Cancel a command's pending jobs now and ask agents to stop its running actions."""
        with self.database.session(actor=actor) as session:
            if session.get(Command, command_id) is None:
                raise NotFoundError(f"There is no command with id {command_id}.")
            reason = f"Cancelled by {actor}."
            for job_id in sorted(self._command_jobs.get(command_id, set())):
                job = self._jobs.get(job_id)
                if job is None:
                    continue
                if job.state == RunState.PENDING:
                    self._finish(job, RunState.CANCELLED, reason)
                    continue
                job.cancel_requested = reason
                if job.running_step is not None and job.cancellable:
                    self.gateway.cancel_action(_action_id(job.running_step.id))
                elif job.running_step is not None:
                    job.cancel_requested = (
                        f"{reason} ({job.description} cannot be interrupted; it finished its "
                        "running step first.)"
                    )
                    self._events.append(
                        self._note(job, "cannot be interrupted: its running step finishes first")
                    )
            self._write(session)
        self.pump()

    def _note(self, job: _RunJob, text: str) -> dict[str, Any]:
        return {
            "created_at": self.clock.now(),
            "severity": Severity.WARNING,
            "kind": "job",
            "host_id": None,
            "subject_kind": job.ref[0],
            "subject_id": job.ref[1],
            "alert_id": None,
            "message": f"{job.description} {text}.",
        }

    # --- what the agents report -----------------------------------------------------------------

    def observe(self, host_address: str, report: LustreReport) -> list[Ref]:
        """Correct the model from an agent's report of its server (see `observe.py`): the audit
        after a crash of the desktop or a lost link, and of changes made by hand on a server.
        Targets running there that the model does not know are imported first, as monitor-only
        (see `imports.py`). Returns the objects imported and those whose state changed."""
        host = self._host_at(host_address)
        if host is None:  # added since the world was loaded (just paired, say)?
            with self.database.session(actor=SCHEDULER_ACTOR) as session:
                self._refresh_world(session)
            host = self._host_at(host_address)
        if host is None:
            return []
        self._last_reports[host.id] = report
        imported = self._import_found(host, report)
        if imported:
            # What it found may complete filesystems other servers reported parts of.
            for other_id, other in list(self._last_reports.items()):
                other_host = self.world.hosts.get(other_id)
                if other_id != host.id and other_host is not None:
                    imported += self._import_found(other_host, other)
        if report.pools is not None:
            self._reconcile_pools(host, report)
        found = [
            correction
            for correction in corrections(self.world, self.locks, host.id, report)
            if not self._stale(correction.ref, report)
        ]
        if not found:
            return imported
        now = self.clock.now()
        with self.database.session(actor=f"agent on {host.label}") as session:
            for correction in found:
                kind, ident = correction.ref
                if kind == TARGET:
                    self._set_active_mount(ident, correction.active_host_id)
                self._set_state(correction.ref, correction.state, now, f"reported by {host.label}")
                if kind == TARGET:
                    self._derive_filesystem_state(ident, now)
            self._write(session)
        self._flush_events()
        return [*imported, *(correction.ref for correction in found)]

    def _stale(self, ref: Ref, report: LustreReport) -> bool:
        """`report` was received before the answer that ended the last job on `ref`: the
        server saw it before that job's outcome (an agent answers and reports over one link, in
        order), so it must not undo it. A job holds its object until it ends and reports are
        ignored meanwhile; this covers one received while the job ran but handled after it
        ended. A report received after the answer is newer, and wins."""
        answered = self._answered_at.get(ref)
        return (
            answered is not None
            and report.received_at is not None
            and report.received_at < answered
        )

    def _reconcile_pools(self, host: HostNode, report: LustreReport) -> None:
        """The OST pools of the MGS running on `host`, as it reports them, unless a job is
        changing them (the job's steps record what they do) or did since the report was taken."""
        assert report.pools is not None
        for target_id in self.world.targets_by_host.get(host.id, ()):
            target = self.world.targets[target_id]
            ref = (TARGET, target_id)
            if target.kind != TargetKind.MGT or target.monitor_only:
                continue
            here = next(m for m in target.mounts if m.host_id == host.id)
            if here.device not in report.mounted_devices:
                continue
            if self.locks.write_locked(ref) or self._stale(ref, report):
                continue
            with self.database.session(actor=f"agent on {host.label}") as session:
                reconcile_pools(session, self.world, target_id, report.pools, self.clock.now())

    def _import_found(self, host: HostNode, report: LustreReport) -> list[Ref]:
        """Import, as monitor-only, the targets `report` shows running that the model does not
        know (see `imports.py`); returns the imported targets and their filesystems."""
        if not unknown_mounts(self.world, host.id, report.mounts):
            return []
        now = self.clock.now()
        with self.database.session(actor=f"agent on {host.label}") as session:
            unknown = unknown_mounts(self.world, host.id, report.mounts)
            done = import_found(session, host.id, unknown, report.nids, now)
            if not done:
                return []
            session.flush()
            self._refresh_world(session)
            changed: list[Ref] = []
            for item in done:
                changed.append((TARGET, item.target_id))
                state = self.world.targets[item.target_id].state
                self._outbox.append(ObjectChanged((TARGET, item.target_id), state))
                if item.filesystem_id is not None:
                    self._derive_filesystem_state(item.target_id, now)
                    if (FILESYSTEM, item.filesystem_id) not in changed:
                        changed.append((FILESYSTEM, item.filesystem_id))
            self._write(session)
        self._flush_events()
        return changed

    def _host_at(self, address: str) -> HostNode | None:
        return next((h for h in self.world.hosts.values() if h.address == address), None)

    # --- menus ----------------------------------------------------------------------------------

    def available_transitions(self, ref: Ref) -> list[TransitionOption]:
        """The states `ref` can be asked to reach now, each with its label, the jobs it would
        create and what it asks to confirm; nothing while a job is changing it."""
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            self._refresh_world(session)
        if not self.world.exists(ref) or self.locks.write_locked(ref):
            return []
        machine = MACHINE_OF[ref[0]]
        current = machine.states(self.world.state(ref))
        options = []
        for state, route in machine.reachable(current).items():
            verb = route[-1].verb
            if verb is None or not self._offered(ref, state.value):
                continue
            try:
                plan = Planner(self.world, self.locks, self._describe_job).plan_state(
                    "", ref, state.value
                )
            except ChromaError:
                continue
            options.append(
                TransitionOption(
                    state=state.value,
                    verb=verb,
                    jobs=tuple(job.description for job in plan.jobs),
                    confirmation=tuple(plan.confirmations),
                )
            )
        return options

    def _offered(self, ref: Ref, state: str) -> bool:
        kind, ident = ref
        world = self.world
        if kind == TARGET:
            target = world.targets[ident]
            if target.monitor_only:
                return state == "forgotten" and not world.filesystems_by_mgs.get(ident)
            if state == "forgotten":
                return False
            if state == "removed" and target.kind.value == "MDT":
                return False
            return not (
                state == "removed"
                and any(
                    world.filesystems[f].state not in ("removed", "forgotten")
                    for f in world.filesystems_by_mgs.get(ident, ())
                )
            )
        if kind == FILESYSTEM:
            return (state == "forgotten") == world.filesystems[ident].monitor_only
        if kind == HOST and world.hosts[ident].monitor_only:
            return state == "removed"
        return True

    def available_jobs(self, ref: Ref) -> list[JobOption]:
        with self.database.session(actor=SCHEDULER_ACTOR) as session:
            self._refresh_world(session)
            return self._job_options(session, ref)

    def _job_options(self, session: Session, ref: Ref) -> list[JobOption]:
        kind, ident = ref
        if kind != TARGET or ident not in self.world.targets or self.locks.write_locked(ref):
            return []
        target = self.world.targets[ident]
        options = []
        if target.state == TargetState.MOUNTED and not target.monitor_only and target.active:
            if target.active.failover_order == 0 and len(target.mounts) > 1:
                host = self.world.hosts[target.mounts[1].host_id].label
                options.append(
                    JobOption(
                        "FailoverTargetJob",
                        "Failover",
                        f"Move {target.name} to {host}? Clients pause while it moves.",
                    )
                )
            if target.active.failover_order != 0:
                options.append(
                    JobOption(
                        "FailbackTargetJob",
                        "Failback",
                        f"Move {target.name} back to its primary server? Clients pause while it "
                        "moves.",
                    )
                )
        if (
            target.kind.value == "MGT"
            and target.state == TargetState.MOUNTED
            and not target.monitor_only
        ):
            versions = session.execute(
                select(Target.conf_param_version, Target.conf_param_version_applied).where(
                    Target.id == ident
                )
            ).one()
            if versions[0] != versions[1]:
                options.append(JobOption("ApplyConfParamsJob", "Apply conf params", None))
        return options

    def _conf_param_steps(self, session: Session, mgs_id: int) -> list[StepPlan]:
        from core.confparams import lustre_key  # local: only this job needs it

        applied = (
            session.scalar(select(Target.conf_param_version_applied).where(Target.id == mgs_id))
            or 0
        )
        rows = session.scalars(
            select(ConfParam)
            .where(ConfParam.mgs_id == mgs_id, ConfParam.version > applied)
            .order_by(ConfParam.version, ConfParam.id)
        ).all()
        mgs = self.world.targets[mgs_id]
        host = (mgs.active or mgs.primary).host_id
        plans = []
        for row in rows:
            fsname = row.filesystem.name if row.filesystem else ""
            key = lustre_key(
                row.scope,
                row.key,
                fsname=fsname,
                target_name=row.target.name if row.target else None,
            )
            shown = "clear" if row.value is None else f"set {row.value}"
            plans.append(
                StepPlan(
                    f"{key}: {shown}", "set_conf_param", {"key": key, "value": row.value}, host
                )
            )
        return plans


def _action_id(step_id: int) -> str:
    return f"step-{step_id}"


def _command_outcome(states: Iterable[RunState]) -> RunState:
    states = list(states)
    if any(not s.finished for s in states):
        return RunState.RUNNING
    if any(s in (RunState.FAILED, RunState.INTERRUPTED) for s in states):
        return RunState.FAILED
    if any(s == RunState.CANCELLED for s in states):
        return RunState.CANCELLED
    return RunState.SUCCEEDED
