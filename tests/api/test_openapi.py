"""The API against its own OpenAPI document, driven by hypothesis: every documented operation is
called with parameters and bodies drawn from the document's schemas (and with junk beside
them), and every answer must be one the document lists for that operation, shaped as its schema
says; bad input must come back as a 4xx naming the field and the rule, never as a 5xx."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Served

EXAMPLES = 100
WORDS = ["fs1", "fs1-OST0000", "mds1.lab", "MGT", "OST", "mounted", "available", "true", "3"]
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 50)
    | st.text(max_size=12).filter(lambda t: "/" not in t)
)
JUNK = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def conforms(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """Fails with the path of the first part of `value` that `schema` does not allow."""
    schema = resolve(document, schema)
    if value is None:
        assert schema.get("nullable"), f"{where} is null but not nullable"
        return
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kind is not None:
        assert checks[kind](value), f"{where} = {value!r} is not of type {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where} = {value!r} is not one of {schema['enum']}"
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            conforms(document, schema["items"], item, f"{where}[{index}]")
    if kind == "object":
        for name in schema.get("required", ()):
            assert name in value, f"{where} lacks {name}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                conforms(document, sub, value[name], f"{where}.{name}")


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a schema allows, and some it does not (the server must refuse those cleanly)."""
    kind = schema.get("type")
    allowed: st.SearchStrategy[Any]
    if "enum" in schema:
        allowed = st.sampled_from(schema["enum"])
    elif kind == "integer":
        allowed = st.integers(schema.get("minimum", -5), min(schema.get("maximum", 40), 40))
    elif kind == "boolean":
        allowed = st.booleans()
    elif kind == "array":
        allowed = st.lists(value_for(schema.get("items", {"type": "integer"})), max_size=3)
    elif kind == "string":
        # never an absolute path: an archive export must not write outside the test's folder
        allowed = st.sampled_from(WORDS) | st.text(max_size=10).filter(lambda t: "/" not in t)
    else:
        return JUNK
    return allowed | JUNK


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete")
    ]


def query_for(operation: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    chosen = {
        p["name"]: value_for(p["schema"]).map(lambda v: v if isinstance(v, str | int) else str(v))
        for p in parameters
    }
    required = {p["name"] for p in parameters if p.get("required")}
    return st.fixed_dictionaries(
        {name: strategy for name, strategy in chosen.items() if name in required},
        optional={
            **{name: strategy for name, strategy in chosen.items() if name not in required},
            "no_such_filter": st.just("x"),
        },
    )


def body_for(document: dict[str, Any], operation: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "requestBody" not in operation:
        return st.none()
    schema = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    properties = schema["properties"]
    fields = {name: value_for(sub) for name, sub in properties.items() if name != "dry_run"}
    required = set(schema.get("required", ()))
    shaped = st.fixed_dictionaries(
        {name: s for name, s in fields.items() if name in required},
        optional={name: s for name, s in fields.items() if name not in required},
    )
    if "dry_run" in properties:  # the fuzzer plans; it does not run jobs on unlinked servers
        shaped = shaped.map(lambda body: {**body, "dry_run": True})
    return shaped | JUNK


def test_every_operation_answers_as_its_document_says(served: Served) -> None:
    document = served.client.get("openapi.json")
    assert document["openapi"].startswith("3.")
    found = operations(document)
    assert {"get", "put", "post", "delete"} <= {method for _, method, _ in found}

    @st.composite
    def calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], dict[str, Any], Any]:
        path, method, operation = draw(st.sampled_from(found))
        ident = draw(st.integers(0, 12))
        return (
            path.replace("{id}", str(ident)),
            method,
            operation,
            draw(query_for(operation)) if method == "get" else {},
            draw(body_for(document, operation)),
        )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(calls())
    def check(call: tuple[str, str, dict[str, Any], dict[str, Any], Any]) -> None:
        path, method, operation, query, body = call
        status, answer = served.client.exchange(
            method.upper(), path.removeprefix("/api/"), query=query, body=body
        )
        where = f"{method.upper()} {path} {query} {body!r} -> {status} {answer}"
        assert status < 500, where
        documented = operation["responses"]
        assert str(status) in documented, where
        schema = documented[str(status)]["content"]["application/json"]["schema"]
        conforms(document, schema, answer, where)
        if status == 400:
            assert "field" in answer and answer.get("rule"), f"no field or rule: {where}"
            named = answer["field"]
            assert named in answer["error"] or repr(named) in answer["error"], where

    check()


def test_a_list_filters_orders_and_pages(served: Served) -> None:
    client = served.client
    osts = client.get("target/", kind="OST", order_by="-name", limit=0)
    names = [row["name"] for row in osts["objects"]]
    assert names == ["fs1-OST0001", "fs1-OST0000"]
    assert osts["meta"]["total_count"] == 2
    page = client.get("target/", order_by="name", limit=1, offset=1)
    assert page["meta"] == {"limit": 1, "offset": 1, "total_count": 4}
    assert [row["name"] for row in page["objects"]] == ["fs1-MDT0000"]
    by_fs = client.get("target/", filesystem="fs1", limit=0)["objects"]
    assert {row["kind"] for row in by_fs} == {"MGT", "MDT", "OST"}
    assert client.get("target/", host="oss2.lab", kind="OST", limit=0)["meta"]["total_count"] == 2


def test_bad_input_names_the_field_and_the_rule(served: Served) -> None:
    client = served.client
    fs = client.get("filesystem/", name="fs1")["objects"][0]
    status, answer = client.exchange("PUT", f"filesystem/{fs['id']}/", body={"state": "melted"})
    assert status == 400
    assert answer["field"] == "state" and "available" in answer["rule"]
    status, answer = client.exchange(
        "POST",
        "filesystem/",
        body={"name": "a name!", "mgt_volume_id": 1, "mdt_volume_ids": [2], "ost_volume_ids": [3]},
    )
    assert status == 400 and answer["field"] == "name", answer
    status, answer = client.exchange("GET", "volume/", query={"order_by": "colour"})
    assert status == 400 and answer["field"] == "order_by" and "size_bytes" in answer["rule"]
    status, answer = client.exchange("GET", "target/", query={"limit": "-1"})
    assert (status, answer["field"]) == (400, "limit")


def test_a_state_change_dry_run_returns_the_plan_and_changes_nothing(served: Served) -> None:
    client = served.client
    fs = client.get("filesystem/", name="fs1")["objects"][0]
    answer = client.put(f"filesystem/{fs['id']}/", {"state": "available", "dry_run": True})
    plan = answer["plan"]
    assert plan["message"] == "Start fs1"
    assert any(job["subject"] == "fs1-OST0001" for job in plan["jobs"])
    assert client.get(f"filesystem/{fs['id']}/")["state"] == fs["state"]
    assert client.get("command/")["objects"] == []


def test_a_request_without_the_token_or_with_another_is_refused(served: Served) -> None:
    from chroma_desktop.api.client import ApiClient

    client = served.client
    stranger = ApiClient(client.port, "not-the-token", client.fingerprint)
    status, answer = stranger.exchange("GET", "host/")
    assert status == 401 and "Authorization: Bearer" in answer["error"]
