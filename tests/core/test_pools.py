"""OST pools through the scheduler: each change is a planned job on the filesystem's MGS with the
exact lctl commands, the model follows only what really ran there, a stopped MGS is refused or
fails with what to do, and the MGS's own report of its pools corrects the model."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.database import Database
from core.errors import ConflictError, ValidationError
from core.fakes import FakeClock, ScriptedReply
from core.models import OstPool, TargetMount, VolumeNode
from core.scheduler import ConfirmationRequired, LustreReport
from core.scheduler.pools import PoolChange, PoolRequest
from tests.core.scheduler_harness import Harness, make_harness


def pools(h: Harness) -> dict[str, list[str]]:
    """The live pools of fs1 in the model, with their OSTs."""
    with h.database.session() as session:
        return {
            pool.name: sorted(ost.name for ost in pool.osts)
            for pool in session.scalars(
                select(OstPool).where(
                    OstPool.filesystem_id == h.filesystem_id, OstPool.deleted_at.is_(None)
                )
            )
        }


def request(h: Harness, change: PoolChange, *osts: str, pool: str = "fast") -> PoolRequest:
    return PoolRequest(h.filesystem_id, pool, change, tuple(h.targets[o] for o in osts))


def mgs_device(h: Harness) -> str:
    with h.database.session() as session:
        return str(
            session.scalar(
                select(VolumeNode.path)
                .join(TargetMount, TargetMount.volume_node_id == VolumeNode.id)
                .where(TargetMount.target_id == h.targets["MGS"], TargetMount.active)
            )
        )


def test_the_plan_of_a_pool_shows_the_exact_lctl_commands_on_the_mgs_and_saves_nothing(
    database: Database,
):
    h = make_harness(database, running=True)
    plan = h.scheduler.preview_pool_change(
        request(h, PoolChange.CREATE, "fs1-OST0000", "fs1-OST0001")
    )
    (job,) = plan.jobs
    assert (job.kind, job.description, job.subject) == (
        "CreateOstPoolJob",
        "Create OST pool fs1.fast",
        "MGS",
    )
    assert [(s.host, s.command_lines) for s in job.steps] == [
        ("mds1.lab", (("lctl", "pool_new", "fs1.fast"),)),
        ("mds1.lab", (("lctl", "pool_add", "fs1.fast", "fs1-OST0000", "fs1-OST0001"),)),
    ]
    assert job.cancellable and not plan.confirmations
    assert pools(h) == {} and h.gateway.requests == []


def test_a_pool_is_created_filled_emptied_and_destroyed_on_the_mgs(database: Database):
    h = make_harness(database, running=True)
    command = h.scheduler.request_pool_change(
        request(h, PoolChange.CREATE, "fs1-OST0000", "fs1-OST0001"), actor="alice"
    )
    assert h.command(command) == ("succeeded", [("Create OST pool fs1.fast", "succeeded", None)])
    assert [(r.action, r.host, dict(r.args)) for r in h.gateway.requests] == [
        ("pool_new", "mds1.lab", {"fsname": "fs1", "pool": "fast"}),
        (
            "pool_add",
            "mds1.lab",
            {"fsname": "fs1", "pool": "fast", "osts": ["fs1-OST0000", "fs1-OST0001"]},
        ),
    ]
    assert pools(h) == {"fast": ["fs1-OST0000", "fs1-OST0001"]}

    h.scheduler.request_pool_change(request(h, PoolChange.REMOVE, "fs1-OST0000"), actor="alice")
    assert pools(h) == {"fast": ["fs1-OST0001"]}
    with pytest.raises(ConflictError, match="fs1-OST0000 is not in pool fast"):
        h.scheduler.request_pool_change(request(h, PoolChange.REMOVE, "fs1-OST0000"), actor="a")
    with pytest.raises(ConflictError, match="already has a pool named fast"):
        h.scheduler.request_pool_change(request(h, PoolChange.CREATE), actor="a")
    with pytest.raises(ValidationError, match="only that filesystem's live OSTs"):
        h.scheduler.request_pool_change(request(h, PoolChange.ADD, "fs1-MDT0000"), actor="a")

    destroy = request(h, PoolChange.DESTROY)
    with pytest.raises(ConfirmationRequired, match=r"Destroy pool fs1\.fast"):
        h.scheduler.request_pool_change(destroy, actor="alice")
    h.gateway.requests.clear()
    h.scheduler.request_pool_change(destroy, actor="alice", confirmed=True)
    # Lustre destroys only an empty pool: it is emptied first.
    assert [(r.action, r.args.get("osts")) for r in h.gateway.requests] == [
        ("pool_remove", ["fs1-OST0001"]),
        ("pool_destroy", None),
    ]
    assert pools(h) == {}
    assert h.scheduler.idle


def test_the_model_keeps_what_ran_when_a_later_step_fails(database: Database):
    h = make_harness(database, running=True)
    h.gateway.script("pool_add", ScriptedReply(error="fs1-OST0001 is not part of the 'fs1' fs."))
    command = h.scheduler.request_pool_change(
        request(h, PoolChange.CREATE, "fs1-OST0001"), actor="alice"
    )
    state, [(_, job_state, error)] = h.command(command)
    assert (state, job_state) == ("failed", "failed")
    assert error is not None and "is not part of the 'fs1' fs" in error
    assert pools(h) == {"fast": []}, "pool_new ran: the MGS has the pool"


def test_a_stopped_mgs_is_refused_with_what_to_do(database: Database):
    h = make_harness(database, running=True)
    h.scheduler.request_state(h.target("MGS"), "unmounted", actor="alice", confirmed=True)
    with pytest.raises(ConflictError, match=r"MGS of fs1 is unmounted.*chroma target-start MGS"):
        h.scheduler.preview_pool_change(request(h, PoolChange.CREATE))
    assert pools(h) == {}


def test_the_job_fails_with_what_to_do_when_the_mgs_did_not_start(database: Database):
    h = make_harness(database, running=True)
    h.scheduler.request_state(h.target("MGS"), "unmounted", actor="alice", confirmed=True)
    h.gateway.script("mount_target", ScriptedReply(error="mount.lustre: device busy", hold=True))
    h.scheduler.request_state(h.target("MGS"), "mounted", actor="alice")
    # Planned while the MGS is expected to run: it waits for the start, which then fails.
    command = h.scheduler.request_pool_change(request(h, PoolChange.CREATE), actor="alice")
    (held,) = h.gateway.running
    h.gateway.finish(held.action_id)
    h.scheduler.pump()
    state, [(_, job_state, error)] = h.command(command)
    assert (state, job_state) == ("failed", "failed")
    assert error is not None
    assert "the MGS is unmounted" in error and "chroma target-start MGS" in error
    assert not any(r.action.startswith("pool_") for r in h.gateway.requests)
    assert pools(h) == {} and h.scheduler.idle


def test_the_mgs_report_of_its_pools_corrects_the_model_unless_it_is_older(database: Database):
    h = make_harness(database, running=True)
    seen = frozenset({mgs_device(h)})
    clock = h.scheduler.clock
    assert isinstance(clock, FakeClock)
    # Made by hand on the MGS: the report brings it into the model.
    h.scheduler.observe(
        "mds1.lab",
        LustreReport(
            "up", seen, received_at=clock.now(), pools={"fs1": {"slow": ("fs1-OST0001_UUID",)}}
        ),
    )
    assert pools(h) == {"slow": ["fs1-OST0001"]}
    taken_before = clock.now()
    clock.advance(1)
    h.scheduler.request_pool_change(request(h, PoolChange.CREATE, "fs1-OST0000"), actor="a")
    # A report received before the job's answers does not undo what the job did ...
    h.scheduler.observe(
        "mds1.lab",
        LustreReport(
            "up", seen, received_at=taken_before, pools={"fs1": {"slow": ("fs1-OST0001",)}}
        ),
    )
    assert pools(h) == {"slow": ["fs1-OST0001"], "fast": ["fs1-OST0000"]}
    # ... a newer one says what the MGS holds now.
    clock.advance(1)
    h.scheduler.observe(
        "mds1.lab",
        LustreReport("up", seen, received_at=clock.now(), pools={"fs1": {"fast": ()}}),
    )
    assert pools(h) == {"fast": []}
