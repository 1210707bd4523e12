"""OST pools as scheduler jobs: `lctl pool_new|pool_add|pool_remove|pool_destroy` planned, shown,
run on the MGS's server and recorded like every other admin action.

Layer: core. Thread: the database worker's (the scheduler calls it).

Design. A pool request (create, add OSTs, remove OSTs, destroy) becomes one job of its own kind
on the filesystem's MGT, planned with `Planner.plan_job` as ApplyConfParamsJob is: it
write-locks the MGT at its state, so it is ordered with starting and stopping the MGS and no
agent report corrects the MGT while it runs, and it read-locks the filesystem, so removing the
filesystem waits for it. Pools are not versioned like conf params: conf params are many keys
saved over time and applied later in one batch, while a pool request is one exact change the
admin reviews in the plan and runs now (a pool only exists on a running MGS). So the request's
arguments live in the job's saved steps; only the server they run on is chosen again when the
job starts (the MGS may have failed over since the plan). The model's `OstPool` rows change
after each step that really ran on the MGS, never before; and the MGS's own report of its pools
(`LustreReport.pools`) corrects the model whenever no job holds the MGT, so pools changed by
hand with lctl show up as they are. A job whose MGS is not mounted fails with what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, ValidationError
from core.models import Filesystem, OstPool, Target, TargetKind
from core.scheduler.rules import StepPlan
from core.scheduler.world import Ref, World
from core.states import TargetState
from core.validation import validate_pool_name


class PoolChange(StrEnum):
    CREATE = "create"
    ADD = "add"
    REMOVE = "remove"
    DESTROY = "destroy"


POOL_JOBS: Mapping[PoolChange, str] = {
    PoolChange.CREATE: "CreateOstPoolJob",
    PoolChange.ADD: "AddToOstPoolJob",
    PoolChange.REMOVE: "RemoveFromOstPoolJob",
    PoolChange.DESTROY: "DestroyOstPoolJob",
}
POOL_JOB_KINDS = frozenset(POOL_JOBS.values())
POOL_ACTIONS = frozenset({"pool_new", "pool_add", "pool_remove", "pool_destroy"})
DESTROY_CONFIRMATION = (
    "Destroy pool {name}? Files already placed by it keep their layout; new files can no longer "
    "ask for it."
)


@dataclass(frozen=True)
class PoolRequest:
    """One change to one OST pool of a filesystem."""

    filesystem_id: int
    pool: str
    change: PoolChange
    ost_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class PoolJobPlan:
    kind: str
    mgs_id: int
    description: str
    confirmation: str | None
    steps: list[StepPlan]


def _start_hint(world: World, mgs_id: int) -> str:
    return f"start it first (chroma target-start {world.targets[mgs_id].name}), then ask again"


def plan_pool_change(
    session: Session, world: World, request: PoolRequest, mgs_state: str
) -> PoolJobPlan:
    """The job that makes `request` happen, checked against the model; `mgs_state` is the MGT's
    expected state (after the jobs already planned)."""
    filesystem = session.get(Filesystem, request.filesystem_id)
    if filesystem is None or not filesystem.is_live:
        raise NotFoundError(f"There is no filesystem with id {request.filesystem_id}.")
    node = world.filesystems[filesystem.id]
    if node.monitor_only:
        raise ConflictError(
            f"{filesystem.name} is monitored only: its pools are changed where it is managed."
        )
    name = validate_pool_name(request.pool)
    full = f"{filesystem.name}.{name}"
    if mgs_state != TargetState.MOUNTED:
        raise ConflictError(
            f"The MGS of {filesystem.name} is {mgs_state}: pools are kept by a running MGS; "
            f"{_start_hint(world, node.mgs_id)}."
        )
    pool = _live_pool(session, filesystem.id, name)
    osts = _pool_osts(world, filesystem, request.ost_ids)
    members = sorted(t.name for t in pool.osts) if pool is not None else []
    if request.change == PoolChange.CREATE:
        if pool is not None:
            raise ConflictError(f"{filesystem.name} already has a pool named {name}.")
    elif pool is None:
        raise ConflictError(f"{filesystem.name} has no pool named {name}.")
    if request.change in (PoolChange.ADD, PoolChange.REMOVE) and not osts:
        raise ValidationError("osts", [], "name at least one OST")
    for ost in osts:
        if request.change == PoolChange.ADD and ost in members:
            raise ConflictError(f"{ost} is already in pool {name}.")
        if request.change == PoolChange.REMOVE and ost not in members:
            raise ConflictError(f"{ost} is not in pool {name}.")
    args = {"fsname": filesystem.name, "pool": name}
    host = _mgs_host(world, node.mgs_id)
    steps: list[StepPlan] = []
    if request.change == PoolChange.CREATE:
        steps.append(StepPlan(f"Create pool {full} on the MGS", "pool_new", args, host))
    if request.change in (PoolChange.CREATE, PoolChange.ADD) and osts:
        steps.append(
            StepPlan(
                f"Add {', '.join(osts)} to pool {full}", "pool_add", {**args, "osts": osts}, host
            )
        )
    if request.change == PoolChange.REMOVE:
        steps.append(
            StepPlan(
                f"Take {', '.join(osts)} out of pool {full}",
                "pool_remove",
                {**args, "osts": osts},
                host,
            )
        )
    if request.change == PoolChange.DESTROY:
        if members:  # Lustre destroys only an empty pool
            steps.append(
                StepPlan(
                    f"Empty pool {full} ({', '.join(members)})",
                    "pool_remove",
                    {**args, "osts": members},
                    host,
                )
            )
        steps.append(StepPlan(f"Destroy pool {full} on the MGS", "pool_destroy", args, host))
    verb = {
        PoolChange.CREATE: f"Create OST pool {full}",
        PoolChange.ADD: f"Add {', '.join(osts)} to OST pool {full}",
        PoolChange.REMOVE: f"Take {', '.join(osts)} out of OST pool {full}",
        PoolChange.DESTROY: f"Destroy OST pool {full}",
    }[request.change]
    confirmation = (
        DESTROY_CONFIRMATION.format(name=full) if request.change == PoolChange.DESTROY else None
    )
    return PoolJobPlan(POOL_JOBS[request.change], node.mgs_id, verb, confirmation, steps)


def _live_pool(session: Session, filesystem_id: int, name: str) -> OstPool | None:
    return session.scalar(
        select(OstPool).where(
            OstPool.filesystem_id == filesystem_id,
            OstPool.name == name,
            OstPool.deleted_at.is_(None),
        )
    )


def _pool_osts(world: World, filesystem: Filesystem, ost_ids: Sequence[int]) -> list[str]:
    node = world.filesystems[filesystem.id]
    live = set(node.members_by_kind.get(TargetKind.OST, []))
    names: list[str] = []
    for ident in ost_ids:
        target = world.targets.get(ident)
        if target is None or ident not in live:
            shown = target.name if target is not None else f"target {ident}"
            raise ValidationError(
                "pool member",
                shown,
                f"a pool of {filesystem.name} holds only that filesystem's live OSTs",
            )
        if target.name in names:
            raise ValidationError("pool member", target.name, "name each OST once")
        names.append(target.name)
    return names


def _mgs_host(world: World, mgs_id: int) -> int:
    mgs = world.targets[mgs_id]
    return (mgs.active or mgs.primary).host_id


def steps_to_run(world: World, mgs_ref: Ref, planned: Sequence[StepPlan]) -> list[StepPlan]:
    """The planned steps, on the server where the MGS runs now; a ConflictError saying what to
    do when it does not run."""
    mgs = world.targets[mgs_ref[1]]
    if mgs.state != TargetState.MOUNTED or mgs.active is None:
        raise ConflictError(
            f"the MGS is {mgs.state}, and pools are kept by a running MGS; "
            f"{_start_hint(world, mgs.id)}"
        )
    host = mgs.active.host_id
    return [replace(step, host_id=host) for step in planned]


# --- the model follows what the MGS did and what it reports -----------------------------------


def _filesystem_of(session: Session, world: World, mgs_id: int, fsname: str) -> Filesystem | None:
    for filesystem_id in world.filesystems_by_mgs.get(mgs_id, ()):
        if world.filesystems[filesystem_id].name == fsname:
            return session.get(Filesystem, filesystem_id)
    return None


def _osts_named(session: Session, filesystem: Filesystem, names: Sequence[str]) -> list[Target]:
    wanted = {name.removesuffix("_UUID") for name in names}
    return list(
        session.scalars(
            select(Target)
            .where(
                Target.filesystem_id == filesystem.id,
                Target.kind == TargetKind.OST,
                Target.deleted_at.is_(None),
                Target.name.in_(wanted),
            )
            .order_by(Target.name)
        )
    )


def record_step(
    session: Session,
    world: World,
    mgs_id: int,
    action: str,
    args: Mapping[str, object],
    now: datetime,
) -> None:
    """A pool step really ran on the MGS: the model now says what the MGS holds."""
    filesystem = _filesystem_of(session, world, mgs_id, str(args.get("fsname")))
    if filesystem is None:
        return
    name = str(args.get("pool"))
    pool = _live_pool(session, filesystem.id, name)
    if action == "pool_new":
        if pool is None:
            session.add(OstPool(filesystem=filesystem, name=name))
    elif pool is not None and action == "pool_destroy":
        pool.osts = []
        pool.deleted_at = now
    elif pool is not None:
        osts_arg = args.get("osts")
        names = [str(o) for o in osts_arg] if isinstance(osts_arg, list) else []
        osts = _osts_named(session, filesystem, names)
        if action == "pool_add":
            pool.osts = [*pool.osts, *(o for o in osts if o not in pool.osts)]
        elif action == "pool_remove":
            pool.osts = [o for o in pool.osts if o not in osts]
    session.flush()


def reconcile(
    session: Session,
    world: World,
    mgs_id: int,
    reported: Mapping[str, Mapping[str, Sequence[str]]],
    now: datetime,
) -> list[int]:
    """Make the model's pools of the filesystems `reported` names (those the MGS `mgs_id` keeps)
    what the MGS reports; returns the ids of the filesystems whose pools changed."""
    changed: list[int] = []
    for fsname, pools in reported.items():
        filesystem = _filesystem_of(session, world, mgs_id, fsname)
        if filesystem is None or not filesystem.is_live:
            continue
        live = {
            pool.name: pool
            for pool in session.scalars(
                select(OstPool).where(
                    OstPool.filesystem_id == filesystem.id, OstPool.deleted_at.is_(None)
                )
            )
        }
        touched = False
        for name, pool in live.items():
            if name not in pools:
                pool.osts = []
                pool.deleted_at = now
                touched = True
        for name, members in pools.items():
            kept = live.get(name)
            if kept is None:
                try:
                    validate_pool_name(name)
                except ValidationError:
                    continue
                kept = OstPool(filesystem=filesystem, name=name)
                session.add(kept)
                touched = True
            osts = _osts_named(session, filesystem, members)
            if sorted(o.id for o in kept.osts) != sorted(o.id for o in osts):
                kept.osts = osts
                touched = True
        if touched:
            changed.append(filesystem.id)
    if changed:
        session.flush()
    return changed


def is_pool_job(kind: str) -> bool:
    return kind in POOL_JOB_KINDS
