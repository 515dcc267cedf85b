"""Fuzzing the JSON API from its own OpenAPI document (GET /api/v1/openapi.json).

Each generated call is one of the document's operations with path and query parameters and a
body drawn from the JSON schemas it publishes (``from_schema`` below), now and then bent in
one place, replaced by any JSON or by bytes; signed in as an admin, an agent, a stranger or
no one. Whatever comes in: never a 5xx, every refusal in the documented error shape, and a
refused call writes no row.

(schemathesis makes its calls synchronously, which would block the event loop the service
under test runs in, and hypothesis-jsonschema no longer runs on the hypothesis we use; the
schemas pydantic writes need only the small converter here.)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.db import Database
from core.messages import Inbound
from core.models import Agent, AgentSession, Role
from tests.service import Running
from tests.test_fuzz_webhooks import FUZZ, TABLES, bent, json_values
from web.api import ROUTES
from web.openapi import document

ROWS = (*TABLES, Agent, AgentSession)
API = "/api/v1"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: dict[str, dict[str, Any]]
    query: dict[str, dict[str, Any]]
    body: dict[str, Any] | None


def _inline(schema: Any, components: dict[str, Any]) -> Any:
    """The schema with every ``$ref`` to components/schemas replaced by what it names."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: _inline(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, components) for v in schema]
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid by ``schema``, for the JSON Schema keywords pydantic writes."""
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    match schema.get("type"):
        case "object":
            properties = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
            required = set(schema.get("required", ()))
            return st.fixed_dictionaries(
                {k: v for k, v in properties.items() if k in required},
                optional={k: v for k, v in properties.items() if k not in required},
            )
        case "array":
            return st.lists(from_schema(schema.get("items", {})), max_size=4)
        case "string" if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        case "string" if schema.get("format") == "date-time":
            return st.datetimes().map(lambda d: d.isoformat())
        case "string":
            return st.text(
                min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 80)
            )
        case "integer":
            return st.integers(schema.get("minimum"), schema.get("maximum"))
        case "boolean":
            return st.booleans()
        case "null":
            return st.none()
    return json_values


def operations(document: dict[str, Any]) -> list[Operation]:
    components = document["components"]["schemas"]
    found = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            found.append(
                Operation(
                    method.upper(),
                    path,
                    {p["name"]: p["schema"] for p in params if p["in"] == "path"},
                    {p["name"]: p["schema"] for p in params if p["in"] == "query"},
                    _inline(body["schema"], components) if body else None,
                )
            )
    return found


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def calls(op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    """One call of ``op``: its path, query, body and whose credentials."""
    path_values = {
        name: (from_schema(schema) | st.integers(1, 4) | st.text(max_size=20)).map(
            lambda v: quote(_text(v), safe="")
        )
        for name, schema in op.path_params.items()
    }
    query = st.fixed_dictionaries(
        {},
        optional={
            name: (from_schema(schema) | st.text(max_size=30)).map(_text)
            for name, schema in op.query.items()
        },
    )
    if op.body is not None:
        as_json = bent(from_schema(op.body)) | bent(from_schema(op.body)) | json_values
        body = as_json.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=100)
    else:
        body = st.just(b"") | json_values.map(lambda v: json.dumps(v).encode())
    # Signing out would end the session the other calls use: it is fuzzed without one.
    signed_in = ["admin", "agent"] if (op.method, op.path) != ("DELETE", API + "/session") else []
    return st.fixed_dictionaries(
        {
            "op": st.just(op),
            "path": st.fixed_dictionaries(path_values),
            "query": query,
            "body": body,
            "who": st.sampled_from([*signed_in * 3, "none", "stranger"]),
            "content_type": st.sampled_from(["application/json"] * 4 + ["text/plain"]),
        }
    )


@dataclass
class Api:
    svc: Running
    http: aiohttp.ClientSession
    tokens: dict[str, str]
    ops: list[Operation]

    async def rows(self) -> tuple[int, ...]:
        async with self.svc.state.db.reading() as s:
            counts = [select(func.count()).select_from(t).scalar_subquery() for t in ROWS]
            return tuple((await s.execute(select(*counts))).one())


@pytest.fixture
async def api(service: Running, db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    desk = service.state.desk
    for who in ("v1", "v2", "v3"):
        await desk.receive(Inbound(inbox="web", external_id=who, text=f"help from {who}"))
    tokens = {
        "admin": await service.agent_token("ada", Role.ADMIN),
        "agent": await service.agent_token("bob"),
        "stranger": "not-a-session-token",
    }
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{service.url}{API}/openapi.json") as response:
            published = await response.json()
        yield Api(service, http, tokens, operations(published))


def test_every_operation_of_the_document_is_fuzzed():
    """Every route of the API's table is an operation the calls are drawn from."""
    described = {(op.method, op.path) for op in operations(document(ROUTES))}
    assert described == {(r.method, r.path) for r in ROUTES}


@settings(FUZZ, max_examples=800)
@given(data=st.data())
async def test_the_api_never_fails_and_a_refusal_changes_nothing(api: Api, data: st.DataObject):
    call = data.draw(st.sampled_from(api.ops).flatmap(calls))
    op: Operation = call["op"]
    path = op.path.format(**call["path"])
    headers = {"Content-Type": call["content_type"]}
    if call["who"] != "none":
        headers["Authorization"] = f"Bearer {api.tokens[call['who']]}"
    before = await api.rows()
    async with api.http.request(
        op.method, api.svc.url + path, params=call["query"], data=call["body"], headers=headers
    ) as response:
        status, text = response.status, await response.text()
    assert status < 500, f"{op.method} {path} {call} answered {status}: {text[:300]}"
    after = await api.rows()
    if status >= 400:
        assert after == before, f"{op.method} {path} refused ({status}) yet wrote rows"
        error = json.loads(text)["error"]
        assert error["status"] == status and isinstance(error["message"], str)
    public = op.path == API + "/openapi.json" or (op.method, op.path) == ("POST", API + "/session")
    if call["who"] in ("none", "stranger") and not public:
        assert status in (401, 404), f"{op.method} {path} without a session answered {status}"
    event(f"{op.method} {op.path}: {status}")
