"""The shapes the API speaks: fields of resources and request bodies, the checks a body must pass
(each failure names the field and the rule), the errors as HTTP statuses, and JSON conversion.

Layer: chroma_desktop.api (no Qt, no Twisted). Thread: any (pure functions). The same field
definitions check requests, shape responses and write the OpenAPI document (openapi.py), so
the document cannot drift from what the server does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from core.errors import ChromaError

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object")


@dataclass(frozen=True)
class Field:
    """One field of a resource or of a request body, as JSON Schema sees it."""

    name: str
    type: str
    help: str
    nullable: bool = False
    items: str | None = None
    """The type of an array's items."""
    required: bool = False
    """For request bodies: the request is refused without it."""
    enum: tuple[str, ...] | None = None


class ApiError(ChromaError):
    """A request the API refuses: the HTTP status, the message and, for bad input, the field
    and the rule it broke."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.rule = rule
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.rule is not None:
            body["rule"] = self.rule
        body.update(self.extra)
        return body


def bad_input(field: str, rule: str, value: object = None) -> ApiError:
    shown = "" if value is None else f" {value!r}"
    return ApiError(400, f"{field}{shown} is not valid: {rule}.", field=field, rule=rule)


def _type_ok(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        )
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _a(kind: str) -> str:
    return {"integer": "an integer", "array": "a list", "object": "an object"}.get(
        kind, f"a {kind}"
    )


def check_body(body: object, fields: Sequence[Field]) -> dict[str, Any]:
    """`body` as a dict of known fields of the right types; an ApiError naming the first field
    that breaks a rule."""
    if not isinstance(body, dict):
        raise bad_input("body", "send a JSON object")
    known = {field.name: field for field in fields}
    for name in body:
        if name not in known:
            rule = f"not a field of this request (fields: {', '.join(known)})"
            raise ApiError(400, f"{name!r} is {rule}.", field=str(name), rule=rule)
    checked: dict[str, Any] = {}
    for field in fields:
        if field.name not in body:
            if field.required:
                raise bad_input(field.name, f"required: {field.help}")
            continue
        value = body[field.name]
        if value is None and field.nullable:
            checked[field.name] = None
            continue
        if not _type_ok(value, field.type):
            raise bad_input(field.name, f"must be {_a(field.type)}", value)
        if field.items is not None and not all(_type_ok(item, field.items) for item in value):
            raise bad_input(field.name, f"must be a list of {field.items}s", value)
        if field.enum is not None and value not in field.enum:
            raise bad_input(field.name, f"must be one of {', '.join(field.enum)}", value)
        checked[field.name] = value
    return checked


def jsonable(value: Any) -> Any:
    """Records, enums, times and tuples as JSON values (times in ISO 8601 with their zone)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.name.lower() if isinstance(value.value, int) else value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value
