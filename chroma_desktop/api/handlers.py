"""The API's requests and what each does: routing, checks, and the manager calls behind them,
the same ones the window's screens and dialogs make.

Layer: chroma_desktop.api (no Qt, no Twisted). Threads: `Api.handle` is called on the reactor
thread and returns at once with a Future; reads run on the manager's database worker, requests
to change something through `Manager.run` (the scheduler, on that worker), pairing through
`Manager.pair_server`. Routes (JSON in and out, under /api/):

- GET /api/ (the resources), GET /api/openapi.json (the OpenAPI 3 document);
- GET /api/<resource>/ with filters, order_by=[-]field, limit (0: all) and offset:
  `{"meta": {limit, offset, total_count}, "objects": [...]}`; GET /api/<resource>/<id>/;
- PUT /api/<resource>/<id>/ {"state": S, "dry_run"?, "confirmed"?} on host, lnet_configuration,
  filesystem and target: 202 `{"command": {...}}` to follow, or with dry_run 200 `{"plan"}`;
  DELETE on a host, filesystem or target is PUT {"state": "removed"};
- POST /api/host/ {"address", "token", "profile"?, "force"?} checks a server (the pre-flight
  checks of `core.preflight`) and pairs it (201 with the host and its `preflight`); a failing
  check refuses it with 409 and the `preflight` unless "force"; "check_only": true runs only
  the checks (200 `{"preflight"}`);
- POST /api/filesystem/ {"name", "mgt_volume_id" | "mgs_id", "mdt_volume_ids",
  "ost_volume_ids", "dry_run"?, "confirmed"?} creates and starts a filesystem (202);
- POST /api/command/ {"class_name": FailoverTargetJob | FailbackTargetJob, "target_id",
  "dry_run"?, "confirmed"?} (202); PUT /api/command/<id>/ {"cancelled": true};
- PUT /api/alert/<id>/ {"dismissed": true};
- conf params and OST pools (POST, PUT and DELETE /api/ost_pool/, run as scheduler jobs on the
  MGS): see lustre_settings.py; logs, stats and archive export: see
  history_resources.py.

A destructive request without "confirmed": true is refused with 409 and the texts to confirm
(`"confirmations"`); bad input gets 400 naming the field and the rule; an unknown object 404.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from agentlink.connector import PreflightFailedError
from chroma_desktop.api import lustre_settings
from chroma_desktop.api.futures import chain, done, failed, mapped
from chroma_desktop.api.resources import (
    COMMAND,
    RESOURCES,
    Resource,
    Row,
    command_json,
    parse_int,
    parse_list_query,
    select_rows,
)
from chroma_desktop.api.schema import ApiError, Field, bad_input, check_body, jsonable
from chroma_desktop.failures import describe_failure
from core.errors import (
    ChromaError,
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from core.preflight import PreflightReport
from core.queries.commands import job_steps
from core.scheduler import (
    FILESYSTEM,
    HOST,
    LNET,
    TARGET,
    ConfirmationRequired,
    FilesystemRequest,
    PlanPreview,
    Scheduler,
)
from core.validation import validate_fsname

if TYPE_CHECKING:
    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager

T = TypeVar("T")
PROGRAM = "chroma-desktop-api"
log = logging.getLogger(__name__)

REF_KINDS = {"host": HOST, "lnet_configuration": LNET, "filesystem": FILESYSTEM, "target": TARGET}
REMOVABLE = ("host", "filesystem", "target")
"""What DELETE removes (as PUT {"state": "removed"})."""
HISTORY_ROUTES = {"log": "GET", "stats": "GET", "archive": "POST"}
"""Resources served from the history stores (history_resources.py), with their method."""
JOB_CLASSES = ("FailoverTargetJob", "FailbackTargetJob")

_DRY_RUN = Field("dry_run", "boolean", "only plan: return what would be done, change nothing")
_CONFIRMED = Field("confirmed", "boolean", "the confirmations of a destructive request were seen")

STATE_BODY = (Field("state", "string", "the state to reach", required=True), _DRY_RUN, _CONFIRMED)
PAIR_BODY = (
    Field("address", "string", "host[:port] of the server's agent", required=True),
    Field("token", "string", "the token `chroma-agent pair` printed", required=True),
    Field("dry_run", "boolean", "only check the address and token"),
    Field("profile", "string", "the server profile by name (the default one when left out)"),
    Field("check_only", "boolean", "only run the pre-flight checks; 200 with `preflight`"),
    Field("force", "boolean", "pair even when a pre-flight check fails"),
)
FILESYSTEM_BODY = (
    Field("name", "string", "the filesystem's name, 1-8 characters", required=True),
    Field("mgt_volume_id", "integer", "the volume of a new MGT", nullable=True),
    Field("mgs_id", "integer", "an existing MGT to register with instead", nullable=True),
    Field("mdt_volume_ids", "array", "volumes of its MDTs", items="integer", required=True),
    Field("ost_volume_ids", "array", "volumes of its OSTs", items="integer", required=True),
    _DRY_RUN,
    _CONFIRMED,
)
COMMAND_BODY = (
    Field("class_name", "string", "the job to run", required=True, enum=JOB_CLASSES),
    Field("target_id", "integer", "the target it runs on", required=True),
    _DRY_RUN,
    _CONFIRMED,
)
CANCEL_BODY = (Field("cancelled", "boolean", "true cancels the command", required=True),)
DISMISS_BODY = (Field("dismissed", "boolean", "true dismisses the alert", required=True),)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    """Below /api/, without the query string: "", "host/", "host/3/", "openapi.json"."""
    query: Mapping[str, str]
    body: object = None
    actor: str = "api"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: object = None


def error_response(error: BaseException) -> ApiResponse:
    """What a client is told about `error`: 4xx for its mistakes, 5xx (logged) for ours."""
    from chroma_desktop.manager import SchedulerNotRunningError

    if isinstance(error, ApiError):
        return ApiResponse(error.status, error.body())
    if isinstance(error, ValidationError):
        body = {"error": error.message, "field": error.field, "rule": error.rule}
        return ApiResponse(400, body)
    if isinstance(error, ConfirmationRequired):
        return ApiResponse(
            409,
            {
                "error": error.message,
                "confirmations": list(error.texts),
                "rule": 'send "confirmed": true once these were seen',
            },
        )
    if isinstance(error, PreflightFailedError):
        body = {"error": error.message, **preflight_json(error.report)}
        if error.hint:
            body["hint"] = error.hint
        return ApiResponse(409, body)
    if isinstance(error, NotFoundError):
        return ApiResponse(404, {"error": error.message})
    if isinstance(error, ConflictError | InvalidTransitionError):
        return ApiResponse(409, {"error": error.message})
    if isinstance(error, SchedulerNotRunningError):
        return ApiResponse(503, {"error": str(error)})
    if isinstance(error, ChromaError):
        body = {"error": error.message}
        if error.hint:
            body["hint"] = error.hint
        return ApiResponse(400, body)
    failure = describe_failure(PROGRAM, error)
    return ApiResponse(500, {"error": str(failure)})


def preflight_json(report: PreflightReport | None) -> dict[str, Any]:
    """`{"preflight": {address, server_name, fingerprint, passed, summary, checks: [{check,
    title, status, message}]}}`, or `{}` when no checks ran."""
    if report is None:
        return {}
    return {
        "preflight": {
            "address": report.address,
            "server_name": report.server_name,
            "fingerprint": report.fingerprint,
            "passed": not report.blocks_pairing,
            "summary": report.summary,
            "checks": [
                {
                    "check": check.kind.value,
                    "title": check.title,
                    "status": check.status.value,
                    "message": check.message,
                }
                for check in report.checks
            ],
        }
    }


def plan_json(plan: PlanPreview) -> dict[str, Any]:
    return {
        "message": plan.message,
        "confirmations": list(plan.confirmations),
        "jobs": jsonable(plan.jobs),
        "shared_job_ids": list(plan.shared_job_ids),
    }


class Api:
    def __init__(
        self,
        manager: Manager,
        openapi: Callable[[], dict[str, Any]],
        history: History | None = None,
    ) -> None:
        self.manager = manager
        self._openapi = openapi
        self.history = history

    def handle(self, request: ApiRequest) -> Future[ApiResponse]:
        """The response to `request`, as a Future that always succeeds (errors are responses)."""
        try:
            answer = self._route(request)
        except BaseException as error:
            answer = failed(error)
        response: Future[ApiResponse] = Future()

        def finish(done: Future[ApiResponse]) -> None:
            error = done.exception()
            response.set_result(error_response(error) if error is not None else done.result())

        answer.add_done_callback(finish)
        return response

    # --- routing --------------------------------------------------------------------------------

    def _route(self, request: ApiRequest) -> Future[ApiResponse]:
        parts = [part for part in request.path.split("/") if part]
        method = request.method
        if not parts:
            self._allow(method, "GET")
            return done(ApiResponse(200, self._index()))
        if parts == ["openapi.json"]:
            self._allow(method, "GET")
            return done(ApiResponse(200, self._openapi()))
        if parts[0] in HISTORY_ROUTES and len(parts) == 1:
            return self._history_route(parts[0], request)
        resource = RESOURCES.get(parts[0])
        if resource is None or len(parts) > 2:
            raise ApiError(404, f"There is no API resource at /api/{request.path}.")
        if len(parts) == 1:
            if method == "GET":
                return self._list(resource, request.query)
            if method == "POST":
                return self._create(resource, request)
            raise ApiError(405, f"{method} is not allowed on /api/{resource.name}/.")
        ident = parse_int("id", parts[1])
        if method == "GET":
            return self._detail(resource, ident)
        if method == "PUT":
            return self._update(resource, ident, request)
        if method == "DELETE" and resource.name in REMOVABLE:
            body = request.body if isinstance(request.body, dict) else {}
            return self._set_state(resource, ident, {**body, "state": "removed"}, request.actor)
        if method == "DELETE" and resource.name == "ost_pool":
            destroyed = lustre_settings.destroy_pool(
                self.manager, ident, request.body, request.actor
            )
            return mapped(destroyed, lambda result: ApiResponse(*result))
        raise ApiError(405, f"{method} is not allowed on /api/{resource.name}/{ident}/.")

    def _history_route(self, name: str, request: ApiRequest) -> Future[ApiResponse]:
        from chroma_desktop.api import history_resources

        allowed = HISTORY_ROUTES[name]
        self._allow(request.method, allowed)
        if self.history is None:
            raise ApiError(503, "This manager keeps no history (its stores are not open).")
        if name == "log":
            answer = history_resources.search_logs(self.history, request.query)
        elif name == "stats":
            answer = history_resources.stats(self.history, request.query)
        else:
            answer = history_resources.export(self.history, self.manager.database, request.body)
        status = 201 if allowed == "POST" else 200
        return mapped(answer, lambda body: ApiResponse(status, body))

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, f"Only {allowed} is allowed here.")

    @staticmethod
    def _index() -> dict[str, Any]:
        index = {
            name: {"list_endpoint": f"/api/{name}/", "help": resource.help}
            for name, resource in RESOURCES.items()
        }
        for name, method in HISTORY_ROUTES.items():
            index[name] = {"endpoint": f"/api/{name}/", "method": method}
        return index

    # --- reads ----------------------------------------------------------------------------------

    def _read(self, work: Callable[[Session], T]) -> Future[T]:
        return self.manager.worker.submit(work)

    def _list(self, resource: Resource, query: Mapping[str, str]) -> Future[ApiResponse]:
        wanted = parse_list_query(resource, query)

        def read(session: Session) -> ApiResponse:
            rows, total = select_rows(resource, resource.rows(session, query), wanted)
            meta = {"limit": wanted.limit, "offset": wanted.offset, "total_count": total}
            return ApiResponse(200, {"meta": meta, "objects": rows})

        return self._read(read)

    def _detail(self, resource: Resource, ident: int) -> Future[ApiResponse]:
        return mapped(self._read(lambda session: self._one(session, resource, ident)), _ok)

    @staticmethod
    def _one(session: Session, resource: Resource, ident: int) -> Row:
        if resource is COMMAND:
            found = command_json(session, ident)
        elif resource.required_filter is not None:
            raise ApiError(
                404, f"Read {resource.name}s through their list with ?{resource.required_filter}."
            )
        else:
            found = next((r for r in resource.rows(session, {}) if r["id"] == ident), None)
            if found is not None and resource.name == "job":
                found["steps"] = jsonable(job_steps(session, ident))
        if found is None:
            raise ApiError(404, f"There is no {resource.name} with id {ident}.")
        return found

    # --- changes --------------------------------------------------------------------------------

    def _create(self, resource: Resource, request: ApiRequest) -> Future[ApiResponse]:
        if resource.name == "host":
            return self._pair(check_body(request.body, PAIR_BODY))
        if resource.name == "filesystem":
            return self._create_filesystem(check_body(request.body, FILESYSTEM_BODY), request)
        if resource.name == "command":
            return self._run_job(check_body(request.body, COMMAND_BODY), request)
        if resource.name == "conf_param":
            answer = lustre_settings.set_conf_params(self.manager, request.body, request.actor)
            return mapped(answer, lambda result: ApiResponse(*result))
        if resource.name == "ost_pool":
            created = lustre_settings.create_pool(self.manager, request.body, request.actor)
            return mapped(created, lambda result: ApiResponse(*result))
        raise ApiError(405, f"POST is not allowed on /api/{resource.name}/.")

    def _update(self, resource: Resource, ident: int, request: ApiRequest) -> Future[ApiResponse]:
        if resource.name in REF_KINDS:
            return self._set_state(resource, ident, request.body, request.actor)
        if resource.name == "command":
            check_body(request.body, CANCEL_BODY)
            return self._cancel(ident, request)
        if resource.name == "alert":
            return self._dismiss(ident, check_body(request.body, DISMISS_BODY), request)
        if resource.name == "ost_pool":
            changed = lustre_settings.change_pool(self.manager, ident, request.body, request.actor)
            return mapped(changed, lambda result: ApiResponse(*result))
        raise ApiError(405, f"PUT is not allowed on /api/{resource.name}/{ident}/.")

    def _schedule(self, work: Callable[[Scheduler], T]) -> Future[T]:
        return self.manager.run(work)

    def _started(self, command_id: int) -> Future[ApiResponse]:
        return mapped(
            self._read(lambda session: command_json(session, command_id)),
            lambda command: ApiResponse(202, {"command": command}),
        )

    def _set_state(
        self, resource: Resource, ident: int, body: object, actor: str
    ) -> Future[ApiResponse]:
        checked = check_body(body, STATE_BODY)
        state = checked["state"]
        if state not in resource.states:
            raise bad_input("state", f"one of {', '.join(resource.states)}", state)
        ref = (REF_KINDS[resource.name], ident)
        if checked.get("dry_run"):
            return mapped(
                self._schedule(lambda scheduler: self._preview_state(scheduler, ref, state)),
                lambda plan: ApiResponse(200, {"plan": plan_json(plan)}),
            )
        confirmed = bool(checked.get("confirmed"))
        return chain(
            self._schedule(
                lambda scheduler: self._request_state(scheduler, ref, state, actor, confirmed)
            ),
            self._started,
        )

    def _check_exists(self, ref: tuple[str, int]) -> None:
        """A NotFoundError naming the object when it does not exist or was removed."""
        from core import inventory
        from core.models import Filesystem, Host, Target

        model = {HOST: Host, LNET: Host, FILESYSTEM: Filesystem, TARGET: Target}[ref[0]]
        with self.manager.database.session() as session:
            inventory.get_live(session, model, ref[1])

    def _preview_state(self, scheduler: Scheduler, ref: tuple[str, int], state: str) -> PlanPreview:
        self._check_exists(ref)
        return scheduler.preview_state(ref, state)

    def _request_state(
        self, scheduler: Scheduler, ref: tuple[str, int], state: str, actor: str, confirmed: bool
    ) -> int:
        self._check_exists(ref)
        return scheduler.request_state(ref, state, actor=actor, confirmed=confirmed)

    def _pair(self, body: dict[str, Any]) -> Future[ApiResponse]:
        from agentlink.daemon.pki import PairingError, token_key
        from core.validation import parse_server_address

        address = str(parse_server_address(body["address"]))
        try:
            token_key(body["token"])
        except PairingError as mistyped:
            raise bad_input("token", str(mistyped)) from None
        if body.get("dry_run"):
            return done(
                ApiResponse(200, {"plan": {"message": f"Pair the agent at {address}", "jobs": []}})
            )
        profile = body.get("profile")
        if body.get("check_only"):
            checked = self.manager.check_server(address, body["token"], profile=profile)
            return mapped(checked, lambda report: ApiResponse(200, preflight_json(report)))
        paired = self.manager.pair_server(
            address, body["token"], profile=profile, force=bool(body.get("force"))
        )
        return chain(
            paired,
            lambda server: mapped(
                self._read(lambda session: self._one(session, RESOURCES["host"], server.host_id)),
                lambda host: ApiResponse(201, {**host, **preflight_json(server.preflight)}),
            ),
        )

    def _create_filesystem(self, body: dict[str, Any], request: ApiRequest) -> Future[ApiResponse]:
        try:
            validate_fsname(body["name"])  # core's rule, reported under the body's field name
        except ValidationError as error:
            raise bad_input("name", error.rule, body["name"]) from None
        if (body.get("mgt_volume_id") is None) == (body.get("mgs_id") is None):
            raise bad_input("mgt_volume_id", "give exactly one of mgt_volume_id and mgs_id")
        if not body["mdt_volume_ids"]:
            raise bad_input("mdt_volume_ids", "give at least one volume for an MDT")
        if not body["ost_volume_ids"]:
            raise bad_input("ost_volume_ids", "give at least one volume for an OST")
        filesystem = FilesystemRequest(
            name=body["name"],
            mgt_volume_id=body.get("mgt_volume_id"),
            mgs_id=body.get("mgs_id"),
            mdt_volume_ids=tuple(body["mdt_volume_ids"]),
            ost_volume_ids=tuple(body["ost_volume_ids"]),
        )
        if body.get("dry_run"):
            return mapped(
                self._schedule(lambda scheduler: scheduler.preview_create_filesystem(filesystem)),
                lambda plan: ApiResponse(200, {"plan": plan_json(plan)}),
            )
        confirmed, actor = bool(body.get("confirmed")), request.actor
        return chain(
            self._schedule(
                lambda scheduler: scheduler.create_filesystem(
                    filesystem, actor=actor, confirmed=confirmed
                )
            ),
            self._started,
        )

    def _run_job(self, body: dict[str, Any], request: ApiRequest) -> Future[ApiResponse]:
        ref, kind = (TARGET, body["target_id"]), body["class_name"]
        if body.get("dry_run"):

            def preview(scheduler: Scheduler) -> PlanPreview:
                self._check_exists(ref)
                return scheduler.preview_job(kind, ref)

            return mapped(
                self._schedule(preview), lambda plan: ApiResponse(200, {"plan": plan_json(plan)})
            )
        confirmed, actor = bool(body.get("confirmed")), request.actor

        def run(scheduler: Scheduler) -> int:
            self._check_exists(ref)
            return scheduler.request_job(kind, ref, actor=actor, confirmed=confirmed)

        return chain(self._schedule(run), self._started)

    def _cancel(self, command_id: int, request: ApiRequest) -> Future[ApiResponse]:
        actor = request.actor
        cancelled = self._schedule(
            lambda scheduler: scheduler.cancel_command(command_id, actor=actor)
        )
        return chain(
            cancelled,
            lambda _: mapped(self._read(lambda s: command_json(s, command_id)), _ok),
        )

    def _dismiss(
        self, alert_id: int, body: dict[str, Any], request: ApiRequest
    ) -> Future[ApiResponse]:
        if not body["dismissed"]:
            raise bad_input("dismissed", "only true: a dismissal cannot be undone", False)
        engine, actor = self.manager.alerts, request.actor
        dismissed = self._read(lambda session: engine.dismiss(alert_id, actor=actor))
        alert = RESOURCES["alert"]
        return chain(
            dismissed,
            lambda _: mapped(self._read(lambda s: self._one(s, alert, alert_id)), _ok),
        )


def _ok(body: object) -> ApiResponse:
    return ApiResponse(200, body)
