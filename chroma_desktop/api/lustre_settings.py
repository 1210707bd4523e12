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
- POST /api/ost_pool/ {"filesystem_id", "name", "ost_ids"?}: 201 with the pool;
- PUT /api/ost_pool/<id>/ {"add"?: [target ids], "remove"?: [target ids]}: 200 with the pool.

Pools are kept in the model only: the scheduler has no job yet that runs `lctl pool_new` and
`pool_add` on the MGS, so a pool made here is not yet on the servers.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from chroma_desktop.api.futures import chain, done, mapped
from chroma_desktop.api.resources import OST_POOL, Row
from chroma_desktop.api.schema import ApiError, Field, bad_input, check_body
from core import inventory
from core.errors import ValidationError
from core.models import Filesystem, OstPool, Target
from core.queries.confparams import ConfParamChange, save_conf_params
from core.scheduler import TARGET, Scheduler

if TYPE_CHECKING:
    from chroma_desktop.manager import Manager

CONF_PARAM_BODY = (
    Field("filesystem_id", "integer", "the filesystem", required=True),
    Field("subject", "string", "the filesystem (the default) or one of its MDTs or OSTs, by name"),
    Field("params", "object", "the values to set (null clears one)", required=True),
    Field("dry_run", "boolean", "only check the values; save nothing"),
)
POOL_BODY = (
    Field("filesystem_id", "integer", "the filesystem", required=True),
    Field("name", "string", "the pool's name", required=True),
    Field("ost_ids", "array", "OSTs to put in it", items="integer"),
)
POOL_CHANGE_BODY = (
    Field("add", "array", "OSTs to add", items="integer"),
    Field("remove", "array", "OSTs to take out", items="integer"),
)
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


def _osts(session: Session, ids: list[int]) -> list[Target]:
    return [inventory.get_live(session, Target, ident) for ident in ids]


def _pool_row(session: Session, pool_id: int) -> Row:
    rows = OST_POOL.rows(session, {})
    return next(row for row in rows if row["id"] == pool_id)


def _pool_work(manager: Manager, actor: str, work: Callable[[Session], int]) -> Future[Row]:
    def run(session: Session) -> int:
        try:
            return work(session)
        except ValidationError as error:
            raise ApiError(400, error.message, field="ost_ids", rule=error.rule) from None

    changed = manager.worker.submit(run, actor=actor)
    return chain(changed, lambda pool_id: manager.worker.submit(lambda s: _pool_row(s, pool_id)))


def create_pool(manager: Manager, body: object, actor: str) -> Future[Row]:
    checked = check_body(body, POOL_BODY)

    def create(session: Session) -> int:
        filesystem = inventory.get_live(session, Filesystem, checked["filesystem_id"])
        try:
            pool = inventory.create_ost_pool(session, filesystem, checked["name"])
        except ValidationError as error:
            raise ApiError(400, error.message, field="name", rule=error.rule) from None
        inventory.add_pool_osts(pool, _osts(session, checked.get("ost_ids") or []))
        session.flush()
        return pool.id

    return _pool_work(manager, actor, create)


def change_pool(manager: Manager, pool_id: int, body: object, actor: str) -> Future[Row]:
    checked = check_body(body, POOL_CHANGE_BODY)
    if not checked.get("add") and not checked.get("remove"):
        raise bad_input("add", "give OSTs to add or to remove")

    def change(session: Session) -> int:
        pool = inventory.get_live(session, OstPool, pool_id)
        inventory.add_pool_osts(pool, _osts(session, checked.get("add") or []))
        inventory.remove_pool_osts(pool, _osts(session, checked.get("remove") or []))
        return pool.id

    return _pool_work(manager, actor, change)
