"""The OpenAPI 3 document of the API, served at /api/openapi.json: written from the same
resource and body definitions the server checks requests against (resources.py, handlers.py).

Layer: chroma_desktop.api (no Qt, no Twisted). Thread: any (pure; built once per server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chroma_desktop.api.handlers import (
    CANCEL_BODY,
    COMMAND_BODY,
    DISMISS_BODY,
    FILESYSTEM_BODY,
    PAIR_BODY,
    REF_KINDS,
    REMOVABLE,
    STATE_BODY,
)
from chroma_desktop.api.history_resources import (
    ARCHIVE_BODY,
    LOG_PARAMETERS,
    STATS_PARAMETERS,
)
from chroma_desktop.api.lustre_settings import (
    CONF_PARAM_BODY,
    POOL_BODY,
    POOL_CHANGE_BODY,
    POOL_DESTROY_BODY,
)
from chroma_desktop.api.resources import DEFAULT_LIMIT, MAX_LIMIT, RESOURCES, Resource
from chroma_desktop.api.schema import Field
from core.preflight import CheckKind, CheckStatus
from core.version import installed_version

PREFLIGHT_SCHEMA = {
    "type": "object",
    "description": "the pre-flight checks of a server before pairing (core.preflight)",
    "required": ["address", "server_name", "fingerprint", "passed", "summary", "checks"],
    "properties": {
        "address": {"type": "string"},
        "server_name": {"type": "string", "nullable": True},
        "fingerprint": {"type": "string", "nullable": True},
        "passed": {"type": "boolean", "description": "no check blocks pairing"},
        "summary": {"type": "string"},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["check", "title", "status", "message"],
                "properties": {
                    "check": {"type": "string", "enum": [k.value for k in CheckKind]},
                    "title": {"type": "string"},
                    "status": {"type": "string", "enum": [s.value for s in CheckStatus]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

_ERROR = {"$ref": "#/components/schemas/Error"}


def _schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": field.type, "description": field.help}
    if field.items is not None:
        schema["items"] = {"type": field.items}
    if field.enum is not None:
        schema["enum"] = list(field.enum)
    if field.nullable:
        schema["nullable"] = True
    return schema


def _object(fields: Sequence[Field], *, all_required: bool) -> dict[str, Any]:
    required = [f.name for f in fields if all_required or f.required]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {field.name: _schema(field) for field in fields},
        "additionalProperties": all_required,  # responses may grow; requests may not
    }
    if required:
        schema["required"] = required
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "bad input: the field and the rule it broke",
        404: "no such object",
        409: "not possible now, or confirmations to see first",
        503: "not available in this manager now (the scheduler or the history stores)",
    }
    return {str(s): _json(_ERROR, texts[s]) for s in statuses}


def _body(fields: Sequence[Field]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": _object(fields, all_required=False)}},
    }


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_parameters(resource: Resource) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": flt.name,
            "in": "query",
            "required": flt.name == resource.required_filter,
            "description": flt.help,
            "schema": {"type": "string"},
        }
        for flt in resource.filters
    ]
    orderings = [*resource.ordering, *(f"-{name}" for name in resource.ordering)]
    parameters += [
        {
            "name": "order_by",
            "in": "query",
            "description": "the field to order by; - for descending",
            "schema": {"type": "string", "enum": orderings},
        },
        {
            "name": "limit",
            "in": "query",
            "description": f"how many to return (default {DEFAULT_LIMIT}; 0: all)",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
        },
        {
            "name": "offset",
            "in": "query",
            "description": "how many to skip",
            "schema": {"type": "integer", "minimum": 0},
        },
    ]
    return parameters


def _paths(resource: Resource) -> dict[str, Any]:
    name, schema_name = resource.name, resource.name.title().replace("_", "")
    list_schema = {
        "type": "object",
        "required": ["meta", "objects"],
        "properties": {
            "meta": _ref("Meta"),
            "objects": {"type": "array", "items": _ref(schema_name)},
        },
    }
    listing: dict[str, Any] = {
        "get": {
            "summary": f"List {name}s",
            "description": resource.help,
            "operationId": f"list_{name}",
            "parameters": _list_parameters(resource),
            "responses": {
                "200": _json(list_schema, f"a page of {name}s"),
                **_errors(*((400, 404) if resource.required_filter else (400,))),
            },
        }
    }
    id_parameter = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    detail: dict[str, Any] = {"parameters": [id_parameter]}
    if resource.required_filter is None:
        detail["get"] = {
            "summary": f"Show one {name}",
            "operationId": f"show_{name}",
            "responses": {"200": _json(_ref(schema_name), f"the {name}"), **_errors(400, 404)},
        }
    started = _json(
        {"type": "object", "properties": {"command": _ref("Command")}, "required": ["command"]},
        "accepted: the command to follow",
    )
    planned = _json(
        {"type": "object", "properties": {"plan": _ref("Plan")}, "required": ["plan"]},
        "dry run: the plan",
    )
    if name in REF_KINDS:
        detail["put"] = {
            "summary": f"Ask a {name} to reach a state",
            "operationId": f"set_{name}_state",
            "requestBody": _body(
                [
                    Field(
                        "state", "string", "the state to reach", required=True, enum=resource.states
                    ),
                    *STATE_BODY[1:],
                ]
            ),
            "responses": {"202": started, "200": planned, **_errors(400, 404, 409, 503)},
        }
    if name in REMOVABLE:
        detail["delete"] = {
            "summary": f"Remove a {name}",
            "operationId": f"remove_{name}",
            "responses": {"202": started, **_errors(400, 404, 409, 503)},
        }
    if name == "host":
        checked_or_planned = {
            "type": "object",
            "properties": {"plan": _ref("Plan"), "preflight": _ref("Preflight")},
        }
        listing["post"] = {
            "summary": "Check a server (pre-flight checks), then pair its agent with its token",
            "operationId": "pair_host",
            "requestBody": _body(PAIR_BODY),
            "responses": {
                "201": _json(_ref("PairedHost"), "paired: the host and its `preflight` checks"),
                "200": _json(
                    checked_or_planned, "dry_run: the `plan`; check_only: the `preflight` checks"
                ),
                **_errors(400),
                "409": _json(
                    _ref("PairRefused"),
                    "a pre-flight check failed (`preflight` says which; send force to pair "
                    "anyway), or not possible now",
                ),
            },
        }
    if name == "filesystem":
        listing["post"] = {
            "summary": "Create a filesystem from volumes and start it",
            "operationId": "create_filesystem",
            "requestBody": _body(FILESYSTEM_BODY),
            "responses": {"202": started, "200": planned, **_errors(400, 404, 409, 503)},
        }
    if name == "command":
        listing["post"] = {
            "summary": "Run a job (failover, failback) on a target",
            "operationId": "run_job",
            "requestBody": _body(COMMAND_BODY),
            "responses": {"202": started, "200": planned, **_errors(400, 404, 409, 503)},
        }
        detail["put"] = {
            "summary": "Cancel a command",
            "operationId": "cancel_command",
            "requestBody": _body(CANCEL_BODY),
            "responses": {"200": _json(_ref("Command"), "the command"), **_errors(400, 404)},
        }
    if name == "conf_param":
        saved = _json(
            {"type": "object", "properties": {"version": {"type": "integer"}}},
            "saved; applied when the MGS next runs (command is null)",
        )
        listing["post"] = {
            "summary": "Save conf param values and apply them",
            "operationId": "set_conf_params",
            "requestBody": _body(CONF_PARAM_BODY),
            "responses": {
                "202": started,
                "201": saved,
                "200": planned,
                **_errors(400, 404, 409, 503),
            },
        }
    if name == "ost_pool":
        pool_answers = {"202": started, "200": planned, **_errors(400, 404, 409, 503)}
        listing["post"] = {
            "summary": "Create an OST pool on the filesystem's MGS (lctl pool_new, pool_add)",
            "operationId": "create_ost_pool",
            "requestBody": _body(POOL_BODY),
            "responses": pool_answers,
        }
        detail["put"] = {
            "summary": "Add OSTs to a pool or take them out (lctl pool_add, pool_remove)",
            "operationId": "change_ost_pool",
            "requestBody": _body(POOL_CHANGE_BODY),
            "responses": pool_answers,
        }
        detail["delete"] = {
            "summary": "Empty and destroy a pool (lctl pool_remove, pool_destroy)",
            "operationId": "destroy_ost_pool",
            "requestBody": _body(POOL_DESTROY_BODY),
            "responses": pool_answers,
        }
    if name == "alert":
        detail["put"] = {
            "summary": "Dismiss an alert",
            "operationId": "dismiss_alert",
            "requestBody": _body(DISMISS_BODY),
            "responses": {"200": _json(_ref("Alert"), "the alert"), **_errors(400, 404)},
        }
    paths = {f"/api/{name}/": listing}
    if len(detail) > 1:
        paths[f"/api/{name}/{{id}}/"] = detail
    return paths


def _text_parameters(parameters: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "description": help, "schema": {"type": "string"}}
        for name, help in parameters
    ]


def _history_paths() -> dict[str, Any]:
    page = {
        "type": "object",
        "required": ["meta", "objects"],
        "properties": {
            "meta": _ref("Meta"),
            "objects": {"type": "array", "items": _ref("LogLine")},
        },
    }
    series = {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "measure": {"type": "string"},
            "unit": {"type": "string"},
            "step": {"type": "integer", "description": "seconds per bucket"},
            "points": {"type": "array", "items": {"type": "object"}},
            "objects": {"type": "array", "items": {"type": "object"}},
        },
    }
    exported = {
        "type": "object",
        "required": ["path", "size", "description"],
        "properties": {
            "path": {"type": "string"},
            "size": {"type": "integer", "description": "bytes"},
            "seconds": {"type": "number"},
            "description": {"type": "string"},
        },
    }
    return {
        "/api/log/": {
            "get": {
                "summary": "Search the servers' syslog lines",
                "operationId": "search_logs",
                "parameters": _text_parameters(LOG_PARAMETERS),
                "responses": {
                    "200": _json(page, "the newest lines, newest first"),
                    **_errors(400, 503),
                },
            }
        },
        "/api/stats/": {
            "get": {
                "summary": "Statistics: the subjects with history, or one measure's series",
                "operationId": "stats",
                "parameters": _text_parameters(STATS_PARAMETERS),
                "responses": {
                    "200": _json(series, "the subjects (objects), or the series (points)"),
                    **_errors(400, 404, 503),
                },
            }
        },
        "/api/archive/": {
            "post": {
                "summary": "Export a time range of the whole history to an archive file",
                "operationId": "export_archive",
                "requestBody": _body(ARCHIVE_BODY),
                "responses": {"201": _json(exported, "written"), **_errors(400, 503)},
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        resource.name.title().replace("_", ""): _object(resource.fields, all_required=True)
        for resource in RESOURCES.values()
    }
    schemas["Command"]["properties"]["jobs"] = {"type": "array", "items": _ref("Job")}
    schemas["Job"]["properties"]["steps"] = {"type": "array", "items": _ref("Step")}
    schemas["Meta"] = {
        "type": "object",
        "required": ["limit", "offset", "total_count"],
        "properties": {
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total_count": {"type": "integer"},
        },
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "what is wrong, for a person"},
            "field": {"type": "string", "description": "the input at fault", "nullable": True},
            "rule": {"type": "string", "description": "what the input must be"},
            "confirmations": {"type": "array", "items": {"type": "string"}},
        },
    }
    schemas["Preflight"] = PREFLIGHT_SCHEMA
    schemas["PairedHost"] = {
        **schemas["Host"],
        "properties": {**schemas["Host"]["properties"], "preflight": _ref("Preflight")},
    }
    schemas["PairRefused"] = {
        **schemas["Error"],
        "properties": {**schemas["Error"]["properties"], "preflight": _ref("Preflight")},
    }
    schemas["Plan"] = {
        "type": "object",
        "required": ["message", "jobs"],
        "properties": {
            "message": {"type": "string"},
            "confirmations": {"type": "array", "items": {"type": "string"}},
            "jobs": {"type": "array", "items": {"type": "object"}},
            "shared_job_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    schemas["LogLine"] = {
        "type": "object",
        "required": ["seq", "time", "host", "severity", "message"],
        "properties": {
            "seq": {"type": "integer", "description": "its place in the store, from 1"},
            "time": {"type": "string", "description": "the sender's time, ISO 8601"},
            "host": {"type": "string"},
            "severity": {"type": "string"},
            "facility": {"type": "string"},
            "source": {"type": "string"},
            "message": {"type": "string"},
        },
    }
    paths: dict[str, Any] = {}
    for resource in RESOURCES.values():
        paths.update(_paths(resource))
    paths.update(_history_paths())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Chroma Desktop local API",
            "version": installed_version(),
            "description": "The running Chroma Desktop manager, on loopback over HTTPS. Send "
            "`Authorization: Bearer <token>` (the token is in the keyring).",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": paths,
    }
