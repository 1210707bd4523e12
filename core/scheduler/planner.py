"""Planning: an admin's request becomes an ordered graph of jobs, derived from the state machines.

Layer: core. Thread: the database worker's. Pure computation on a World and the lock table: the
same plan serves the dry run (shown before every action) and the real run. For each edge of the
shortest route from an object's expected state to the wanted one, the planner adds the jobs
that satisfy the edge's needs, the requirements of the new state, and the fixes its dependents
need first (stopping LNet first stops its targets). A transition already planned is reused, and
a transition an unfinished job will perform is shared instead of duplicated.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from core.errors import ConflictError, InvalidTransitionError
from core.scheduler.dependencies import (
    DependAll,
    Dependency,
    DependOn,
    collect,
    leaves,
    unsatisfied,
)
from core.scheduler.locks import LockTable
from core.scheduler.rules import (
    MACHINE_OF,
    StepPlan,
    describe,
    needs,
    requirements,
    steps,
)
from core.scheduler.rules import dependents as dependents_of
from core.scheduler.world import FILESYSTEM, TARGET, Ref, World


@dataclass(frozen=True)
class Existing:
    """A job that is already planned and unfinished (shared with this request)."""

    job_id: int


Handle = int | Existing
"""A job of this plan (its key) or an existing unfinished job."""


@dataclass(slots=True)
class PlannedJob:
    key: int
    kind: str
    ref: Ref
    from_state: str | None
    to_state: str | None
    description: str
    confirmation: str | None
    cancellable: bool
    steps: list[StepPlan]
    after: set[Handle] = field(default_factory=set)
    """Jobs whose success this job needs (its dependencies)."""
    reads: set[Ref] = field(default_factory=set)
    writes: list[tuple[Ref, str]] = field(default_factory=list)


@dataclass
class Plan:
    message: str
    jobs: list[PlannedJob]
    final: Handle | None
    """The job that brings about what was asked; None when nothing needs doing."""

    shared: set[int] = field(default_factory=set)
    """Unfinished jobs of earlier commands that already bring about what this one needs:
    they become part of this command too, instead of being planned twice."""

    @property
    def confirmations(self) -> list[str]:
        """What the admin must agree to, the requested job's first."""
        ordered = sorted(self.jobs, key=lambda j: j.key != self.final)
        texts = []
        for job in ordered:
            if job.confirmation and job.confirmation not in texts:
                texts.append(job.confirmation)
        return texts


class Planner:
    def __init__(
        self, world: World, locks: LockTable, describe_job: Callable[[int], str] = str
    ) -> None:
        self.world = world
        self.locks = locks
        self._describe_job = describe_job
        self.jobs: list[PlannedJob] = []
        self._planned_state: dict[Ref, str] = {}
        self._known: dict[Ref, str] = {}
        self._last_planned: dict[Ref, int] = {}
        self._edges: dict[tuple[Ref, str, str], int] = {}
        self._stack: list[Ref] = []
        self._shared: set[int] = set()

    def state_of(self, ref: Ref) -> str:
        """The state `ref` will be in once everything planned so far (here and by unfinished
        jobs) has run."""
        known = self._known.get(ref)
        if known is None:
            expected = self.locks.expected_state(ref)
            known = self._known[ref] = expected if expected is not None else self.world.state(ref)
        return known

    def plan_state(self, message: str, ref: Ref, state: str) -> Plan:
        """Plan `ref` → `state`, with everything it implies."""
        return self.plan_states(message, [(ref, state)])

    def plan_states(self, message: str, wanted: Sequence[tuple[Ref, str]]) -> Plan:
        """Plan several objects' states as one command (adding eight servers at once)."""
        final: Handle | None = None
        with _collector_paused():
            for ref, state in wanted:
                if not self.world.exists(ref):
                    raise InvalidTransitionError(f"There is no {ref[0]} with id {ref[1]}.")
                final = self._expand(ref, state)
        return Plan(message, self.jobs, final, self._shared)

    def _requirements_of(self, ref: Ref, state: str) -> Dependency:
        """What `ref` needs while in `state`. Not kept here: a running target's requirements
        depend on where it will run, which the plan may change; the rules share the values."""
        return requirements(self.world, ref, state, self.state_of)

    def plan_job(
        self,
        message: str,
        kind: str,
        ref: Ref,
        description: str,
        confirmation: str | None,
        writes_state: str | None = None,
    ) -> Plan:
        """Plan a job that is not a state change (failover, applying conf params): its needs are
        brought about first and it write-locks `ref` at its current expected state."""
        current = self.state_of(ref)
        job_needs = needs(self.world, kind, ref)
        after: set[Handle] = set()
        self._stack.append(ref)
        for dependency in unsatisfied(job_needs, self.state_of):
            if dependency.ref == ref:
                raise InvalidTransitionError(
                    f"{description} needs {self.world.name(ref)} {dependency.preferred}, "
                    f"but it is {current}."
                )
            self._depend(after, dependency.ref, dependency.preferred)
        self._stack.pop()
        job = self._add(
            kind,
            ref,
            None,
            None,
            description,
            confirmation,
            True,
            after,
            reads={leaf.ref for leaf in leaves(job_needs)} - {ref},
            writes=[(ref, writes_state or current)],
        )
        return Plan(message, self.jobs, job.key, self._shared)

    # --- expansion ----------------------------------------------------------------------------

    def _handle_at(self, ref: Ref, state: str) -> Handle | None:
        """The job that leaves `ref` in `state` (which is its expected state), if any."""
        if ref in self._last_planned:
            return self._last_planned[ref]
        writer = self.locks.writer(ref)
        if isinstance(writer, int) and self.locks.expected_state(ref) == state:
            return Existing(writer)
        return None

    def _depend(self, after: set[Handle], ref: Ref, state: str) -> None:
        handle = self._expand(ref, state)
        if handle is not None:
            after.add(handle)

    def _expand(self, ref: Ref, wanted: str) -> Handle | None:
        current = self.state_of(ref)
        if current == wanted:
            handle = self._handle_at(ref, current)
            if isinstance(handle, Existing):
                self._shared.add(handle.job_id)
            return handle
        machine = MACHINE_OF[ref[0]]
        try:
            try:
                route = machine.route(current, wanted)
            except InvalidTransitionError:  # say it again, naming the object (rare, so lazily)
                machine.route(current, wanted, name=self.world.name(ref))
                raise
        except InvalidTransitionError as error:
            writer = self.locks.writer(ref)
            if ref in self._planned_state or not isinstance(writer, int):
                raise
            raise InvalidTransitionError(
                f"{self.world.name(ref)} will be {current} once '{self._describe_job(writer)}' "
                f"(job {writer}) has run, and then: {error}",
                hint="Wait for that job, or cancel its command first.",
            ) from error
        self._refuse_monitor_only(ref, wanted)
        previous = self._handle_at(ref, current)
        self._stack.append(ref)
        try:
            for edge in route:
                begin, end = self.state_of(ref), edge.target.value
                known = self._edges.get((ref, begin, end))
                if known is not None:
                    previous = known
                    continue
                after: set[Handle] = set() if previous is None else {previous}
                job_needs = needs(self.world, edge.job, ref)
                new_requirements = self._requirements_of(ref, end)
                missing: list[DependOn] = []
                named: set[Ref] = set()
                collect(job_needs, self.state_of, missing, named)
                collect(new_requirements, self.state_of, missing, named)
                for dependency in missing:
                    if dependency.ref not in self._stack:
                        self._depend(after, dependency.ref, dependency.preferred)
                # What this edge reads and an earlier job of this plan brings about comes first.
                for other in named:
                    earlier = self._last_planned.get(other)
                    if earlier is not None and other not in self._stack:
                        after.add(earlier)
                for dependent in dependents_of(self.world, ref):
                    if dependent in self._stack:
                        continue
                    fix = self._fix_for(dependent, ref, end)
                    if fix is not None:
                        self._depend(after, dependent, fix)
                old_requirements = self._requirements_of(ref, begin)
                if isinstance(old_requirements, DependAll):
                    named.update(old_requirements.refs)
                else:
                    named.update(leaf.ref for leaf in leaves(old_requirements))
                named.discard(ref)
                job = self._add(
                    edge.job,
                    ref,
                    begin,
                    end,
                    describe(self.world, edge.job, ref, edge.verb),
                    edge.confirmation,
                    edge.cancellable,
                    after,
                    reads=named,
                    writes=[(ref, end)],
                )
                self._edges[(ref, begin, end)] = job.key
                self._planned_state[ref] = self._known[ref] = end
                self._last_planned[ref] = job.key
                previous = job.key
        finally:
            self._stack.pop()
        return previous

    def _refuse_monitor_only(self, ref: Ref, wanted: str) -> None:
        """No job changes a monitor-only target or filesystem (one found running, not set up
        by Chroma Desktop): it can only be removed from the manager."""
        kind, ident = ref
        node = (
            self.world.targets.get(ident)
            if kind == TARGET
            else self.world.filesystems.get(ident)
            if kind == FILESYSTEM
            else None
        )
        if node is None or not node.monitor_only or wanted == "forgotten":
            return
        raise ConflictError(
            f"{self.world.name(ref)} is monitor-only: Chroma Desktop did not set it up and does "
            f"not make it {wanted}.",
            hint="Do it on the server, or remove it from Chroma Desktop first.",
        )

    def _fix_for(self, dependent: Ref, ref: Ref, new_state: str) -> str | None:
        """The state `dependent` must reach before `ref` enters `new_state`, or None if its
        requirements on `ref` still hold."""
        state = self.state_of(dependent)
        requirement = self._requirements_of(dependent, state)
        if isinstance(requirement, DependAll) and ref not in requirement.refs:
            return None
        for leaf in leaves(requirement):
            if leaf.ref == ref and new_state not in leaf.acceptable:
                if leaf.fix_state is None:
                    raise ConflictError(
                        f"{self.world.name(ref)} cannot become {new_state}: "
                        f"{self.world.name(dependent)} depends on it."
                    )
                return leaf.fix_state
        return None

    def _add(
        self,
        kind: str,
        ref: Ref,
        begin: str | None,
        end: str | None,
        description: str,
        confirmation: str | None,
        cancellable: bool,
        after: set[Handle],
        *,
        reads: set[Ref],
        writes: list[tuple[Ref, str]],
    ) -> PlannedJob:
        job = PlannedJob(
            key=len(self.jobs),
            kind=kind,
            ref=ref,
            from_state=begin,
            to_state=end,
            description=description,
            confirmation=confirmation,
            cancellable=cancellable,
            steps=steps(self.world, kind, ref, self.state_of),
            after=after,
            reads=reads,
            writes=writes,
        )
        self.jobs.append(job)
        return job


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Planning allocates many small objects and frees them all at the end; the cyclic garbage
    collector would otherwise rescan the whole world again and again (it made planning grow
    faster than linearly). Nothing planning builds is cyclic garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
