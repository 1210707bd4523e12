"""The API's changes to Lustre settings: conf params (saved as the MGS's next version, then sent
to the servers by an ApplyConfParamsJob when the MGS runs) and OST pools.

Layer: chroma_desktop.api (no Qt, no Twisted). Threads: bodies are checked on the caller's (the
reactor) thread; the changes run in one transaction on the manager's database worker, through
`core.queries.confparams` and `core.inventory` (the same checks as the window's: a value Lustre
would refuse is refused before anything is saved), and the apply job through `Manager.run`.

- POST /api/conf_param/ {"filesystem_id", "subject"?, "params": {key: value | null},
  "dry_run"?}, saved as the conf params editor saves them (`core.queries.confparams`): 202
  with the command that applies them, or 201 `{"version", "command": null}` when the MGS is not
  running (they are applied when it next starts);
- POST /api/ost_pool/ {"filesystem_id", "name", "ost_ids"?, "dry_run"?, "confirmed"?}: 202
  with the command that runs `lctl pool_new` (and `pool_add`) on the MGS's server;
- PUT /api/ost_pool/<id>/ {"add": [target ids]} or {"remove": [target ids]} (one per request),
  "dry_run"?, "confirmed"?: 202 with the command (`lctl pool_add` / `pool_remove`);
- DELETE /api/ost_pool/<id>/ {"dry_run"?, "confirmed"?}: 202 with the command that empties and
  destroys the pool (`pool_remove`, `pool_destroy`); it asks for confirmation (409).

Every pool change is a job of the scheduler on the filesystem's MGS (core/scheduler/pools.py):
with "dry_run" the answer is 200 with the plan and its exact lctl commands; the pool rows
change only once the MGS really ran them. A stopped MGS is refused (409) with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from chroma_desktop.api.futures import chain, done, mapped
from chroma_desktop.api.schema import ApiError, Field, bad_input, check_body
from core import inventory
from core.errors import ValidationError
from core.models import Filesystem, OstPool
from core.queries.confparams import ConfParamChange, save_conf_params
from core.scheduler import TARGET, Scheduler
from core.scheduler.pools import PoolChange, PoolRequest

if TYPE_CHECKING:
    from chroma_desktop.manager import Manager

CONF_PARAM_BODY = (
    Field("filesystem_id", "integer", "the filesystem", required=True),
    Field("subject", "string", "the filesystem (the default) or one of its MDTs or OSTs, by name"),
    Field("params", "object", "the values to set (null clears one)", required=True),
    Field("dry_run", "boolean", "only check the values; save nothing"),
)
_DRY_RUN = Field("dry_run", "boolean", "only plan: return what would be done, change nothing")
_CONFIRMED = Field("confirmed", "boolean", "the confirmations of a destructive request were seen")
POOL_BODY = (
    Field("filesystem_id", "integer", "the filesystem", required=True),
    Field("name", "string", "the pool's name", required=True),
    Field("ost_ids", "array", "OSTs to put in it", items="integer"),
    _DRY_RUN,
    _CONFIRMED,
)
POOL_CHANGE_BODY = (
    Field("add", "array", "OSTs to add", items="integer"),
    Field("remove", "array", "OSTs to take out (give add or remove, not both)", items="integer"),
    _DRY_RUN,
    _CONFIRMED,
)
POOL_DESTROY_BODY = (_DRY_RUN, _CONFIRMED)
APPLY_JOB = "ApplyConfParamsJob"


def _save(session: Session, body: dict[str, Any]) -> tuple[int, int, str]:
    """Save through the conf params editor's own path; (version, the MGS's id, subject)."""
    filesystem = inventory.get_live(session, Filesystem, body["filesystem_id"])
    subject = body.get("subject") or filesystem.name
    changes = [ConfParamChange(subject, key, value) for key, value in body["params"].items()]
    try:
        version = save_conf_params(session, filesystem.id, changes)
    except ValidationError as error:
        field = "subject" if error.field == "conf param subject" else "params"
        raise ApiError(400, error.message, field=field, rule=error.rule) from None
    return version, filesystem.mgs_id, subject


def set_conf_params(manager: Manager, body: object, actor: str) -> Future[tuple[int, Any]]:
    """(status, body) of saving, and applying when the MGS runs, new conf param values."""
    checked = check_body(body, CONF_PARAM_BODY)
    params = checked["params"]
    if not params:
        raise bad_input("params", "give at least one key")
    for key, value in params.items():
        if value is not None and not isinstance(value, str):
            raise bad_input(f"params.{key}", "a value as text, or null to clear it", value)
    if checked.get("dry_run"):

        def check(session: Session) -> tuple[int, Any]:
            with manager.database.scratch_session(actor=actor) as scratch:
                _, _, name = _save(scratch, checked)
            message = f"Set {', '.join(sorted(params))} on {name} and apply"
            return 200, {"plan": {"message": message, "jobs": [], "confirmations": []}}

        return manager.worker.submit(check)
    saved = manager.worker.submit(lambda session: _save(session, checked), actor=actor)

    def apply(saved_as: tuple[int, int, str]) -> Future[tuple[int, Any]]:
        version, mgs_id, _ = saved_as

        def run(scheduler: Scheduler) -> int | None:
            offered = {job.kind for job in scheduler.available_jobs((TARGET, mgs_id))}
            if APPLY_JOB not in offered:
                return None  # the MGS is not running: applied when it next starts
            return scheduler.request_job(APPLY_JOB, (TARGET, mgs_id), actor=actor, confirmed=True)

        def answer(command_id: int | None) -> Future[tuple[int, Any]]:
            if command_id is None:
                return done((201, {"version": version, "command": None}))
            from chroma_desktop.api.resources import command_json

            return mapped(
                manager.worker.submit(lambda session: command_json(session, command_id)),
                lambda command: (202, {"version": version, "command": command}),
            )

        return chain(manager.run(run), answer)

    return chain(saved, apply)


def _pool_answer(
    manager: Manager, request: PoolRequest, body: dict[str, Any], actor: str
) -> Future[tuple[int, Any]]:
    """Plan (dry_run) or run a pool change through the scheduler, as every change is run."""
    from chroma_desktop.api.handlers import plan_json
    from chroma_desktop.api.resources import command_json

    if body.get("dry_run"):
        return mapped(
            manager.run(lambda scheduler: scheduler.preview_pool_change(request)),
            lambda plan: (200, {"plan": plan_json(plan)}),
        )
    confirmed = bool(body.get("confirmed"))
    started = manager.run(
        lambda scheduler: scheduler.request_pool_change(request, actor=actor, confirmed=confirmed)
    )
    return chain(
        started,
        lambda command_id: mapped(
            manager.worker.submit(lambda session: command_json(session, command_id)),
            lambda command: (202, {"command": command}),
        ),
    )


def _checked(
    answer: Callable[[], Future[tuple[int, Any]]], osts_field: str = "ost_ids"
) -> Future[tuple[int, Any]]:
    """A pool rule broken (a ValidationError) as a 400 naming the body's field."""
    checked: Future[tuple[int, Any]] = Future()

    def copy(finished: Future[tuple[int, Any]]) -> None:
        error = finished.exception()
        if error is None:
            checked.set_result(finished.result())
        elif isinstance(error, ValidationError):
            field = "name" if error.field == "pool name" else osts_field
            checked.set_exception(ApiError(400, error.message, field=field, rule=error.rule))
        else:
            checked.set_exception(error)

    answer().add_done_callback(copy)
    return checked


def create_pool(manager: Manager, body: object, actor: str) -> Future[tuple[int, Any]]:
    """Create a pool (and put OSTs in it) on the filesystem's MGS: 202 with the command."""
    checked = check_body(body, POOL_BODY)
    request = PoolRequest(
        checked["filesystem_id"],
        checked["name"],
        PoolChange.CREATE,
        tuple(checked.get("ost_ids") or ()),
    )
    return _checked(lambda: _pool_answer(manager, request, checked, actor))


def _pool_of(manager: Manager, pool_id: int) -> Future[tuple[int, str]]:
    def read(session: Session) -> tuple[int, str]:
        pool = inventory.get_live(session, OstPool, pool_id)
        return pool.filesystem_id, pool.name

    return manager.worker.submit(read)


def change_pool(
    manager: Manager, pool_id: int, body: object, actor: str
) -> Future[tuple[int, Any]]:
    """Add OSTs to a pool or take them out (one of the two per request): 202 with the command."""
    checked = check_body(body, POOL_CHANGE_BODY)
    add, remove = checked.get("add") or [], checked.get("remove") or []
    if bool(add) == bool(remove):
        raise bad_input("add", "give OSTs to add or OSTs to remove, not both")
    change = PoolChange.ADD if add else PoolChange.REMOVE

    def ask(found: tuple[int, str]) -> Future[tuple[int, Any]]:
        request = PoolRequest(found[0], found[1], change, tuple(add or remove))
        return _checked(lambda: _pool_answer(manager, request, checked, actor), change.value)

    return chain(_pool_of(manager, pool_id), ask)


def destroy_pool(
    manager: Manager, pool_id: int, body: object, actor: str
) -> Future[tuple[int, Any]]:
    """Empty and destroy a pool (asks for confirmation): 202 with the command."""
    checked = check_body(body if body is not None else {}, POOL_DESTROY_BODY)

    def ask(found: tuple[int, str]) -> Future[tuple[int, Any]]:
        request = PoolRequest(found[0], found[1], PoolChange.DESTROY)
        return _pool_answer(manager, request, checked, actor)

    return chain(_pool_of(manager, pool_id), ask)
