"""The JSON API over HTTP: sign-in, tickets, messages, agents' actions, errors, CSRF, OpenAPI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from core import agents, queries
from core.messages import Inbound
from core.models import Delivery, OutboxItem, Role
from tests.people import make_agent
from tests.service import PASSWORD, Running
from web.api import ROUTES

API = "/api/v1"
Answer = tuple[int, Any]


class Client:
    """A JSON client of the running service; every answer is (status, parsed body)."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http

    async def __call__(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, API + path, headers=headers, **kwargs) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


@pytest.fixture
async def api(service: Running) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(service.url) as http:
        yield Client(http)


async def customer_writes(service: Running, text: str, who: str = "v1", inbox: str = "web") -> int:
    got = await service.state.desk.receive(Inbound(inbox=inbox, external_id=who, text=text))
    return got.ticket_number


def refused(answer: Answer, status: int, words: str = "") -> str:
    """Assert the error shape and status; return the message."""
    got, body = answer
    assert got == status, body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert body["error"]["status"] == status
    message = body["error"]["message"]
    assert words.lower() in message.lower(), message
    assert "Traceback" not in message
    return message


async def ticket_state(api: Client, token: str, number: int) -> tuple[Any, int, int]:
    """(ticket, message count, audit entry count): to prove a refusal changed nothing."""
    _, ticket = await api("GET", f"/tickets/{number}", token)
    _, messages = await api("GET", f"/tickets/{number}/messages", token)
    _, audit = await api("GET", f"/tickets/{number}/audit", token)
    return ticket, len(messages["messages"]), len(audit["entries"])


async def outbox_rows(service: Running) -> int:
    async with service.state.db.reading() as s:
        return await s.scalar(select(func.count()).select_from(OutboxItem)) or 0


# Session


async def test_sign_in_gives_a_working_token_and_csrf_token(service: Running, api: Client):
    await make_agent(service.state.db, "anna")
    status, body = await api("POST", "/session", json={"login": "anna", "password": PASSWORD})
    assert status == 201
    assert body["token"] and body["csrf_token"] and body["token"] != body["csrf_token"]
    assert body["agent"]["login"] == "anna" and body["agent"]["role"] == "agent"
    status, listed = await api("GET", "/tickets", body["token"])
    assert status == 200 and listed == {"tickets": [], "total": 0}


@pytest.mark.parametrize(
    ("login", "password", "status", "words"),
    [
        ("anna", "wrong password!", 401, "wrong login or password"),
        ("nobody", PASSWORD, 401, "wrong login or password"),
        ("", PASSWORD, 400, "login"),
        ("an\x00na", PASSWORD, 400, "NUL"),
    ],
)
async def test_wrong_credentials_are_refused(
    service: Running, api: Client, login: str, password: str, status: int, words: str
):
    await make_agent(service.state.db, "anna")
    answer = await api("POST", "/session", json={"login": login, "password": password})
    refused(answer, status, words)


async def test_sign_out_ends_the_session(service: Running, api: Client):
    token = await service.agent_token("anna")
    status, _ = await api("DELETE", "/session", token)
    assert status == 204
    refused(await api("GET", "/tickets", token), 401, "sign in")


@pytest.mark.parametrize("entry", [r for r in ROUTES if not r.public], ids=lambda r: r.name)
async def test_every_private_route_needs_a_token(service: Running, api: Client, entry: Any):
    number = await customer_writes(service, "hello")
    path = entry.path.removeprefix(API).replace("{number}", str(number))
    refused(await api(entry.method, path, "not-a-token", json={"text": "hi"}), 401, "sign in")
    refused(await api(entry.method, path, json={"text": "hi"}), 401, "sign in")
    ticket = await queries.ticket(service.state.db, number)
    assert ticket.status == "new" and len(await queries.messages(service.state.db, ticket.id)) == 1


# Reading tickets


async def test_list_filters_and_pages(service: Running, api: Client):
    anna = await service.agent_token("anna")
    first = await customer_writes(service, "Refund please", who="a")
    second = await customer_writes(service, "Delivery question", who="b", inbox="shop")
    await api("POST", f"/tickets/{first}/replies", anna, json={"text": "On it"})

    async def numbers(query: str) -> tuple[list[int], int]:
        status, body = await api("GET", f"/tickets?{query}", anna)
        assert status == 200, body
        return [t["number"] for t in body["tickets"]], body["total"]

    assert await numbers("") == ([first, second], 2)  # most recently active first
    assert await numbers("status=open") == ([first], 1)
    assert await numbers("status=new") == ([second], 1)
    assert await numbers("status=live") == ([first, second], 2)
    assert await numbers("status=closed") == ([], 0)
    assert await numbers("assignee=me") == ([first], 1)
    assert await numbers("assignee=none") == ([second], 1)
    anna_id = (await api("GET", f"/tickets/{first}", anna))[1]["assignee"]["id"]
    assert await numbers(f"assignee={anna_id}") == ([first], 1)
    assert await numbers("inbox=shop") == ([second], 1)
    assert await numbers("q=delivery") == ([second], 1)
    assert await numbers(f"q=%23{first}") == ([first], 1)
    assert await numbers("limit=1") == ([first], 2)
    assert await numbers("limit=1&offset=1") == ([second], 2)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("status=bogus", "status"),
        ("assignee=anna", "assignee"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("assignee=99999999999", "assignee"),
        ("colour=red", "colour"),
        ("status=new&status=open", "more than once"),
        ("q=nul%00byte", "NUL"),
    ],
)
async def test_bad_query_values_are_400(service: Running, api: Client, query: str, words: str):
    token = await service.agent_token("anna")
    refused(await api("GET", f"/tickets?{query}", token), 400, words)


async def test_get_ticket_shows_customer_inbox_and_timestamps(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "Where is my order?")
    status, ticket = await api("GET", f"/tickets/{number}", token)
    assert status == 200
    assert ticket["number"] == number and ticket["status"] == "new"
    assert ticket["inbox"] == "web" and ticket["channel"] == "webchat"
    assert ticket["subject"] == "Where is my order?"
    assert ticket["customer"]["name"] and ticket["assignee"] is None
    assert ticket["created_at"].endswith("Z") and ticket["closed_at"] is None


async def test_unknown_ticket_is_404(service: Running, api: Client):
    token = await service.agent_token("anna")
    for method, path, body in [
        ("GET", "/tickets/4040", None),
        ("GET", "/tickets/4040/messages", None),
        ("GET", "/tickets/4040/audit", None),
        ("POST", "/tickets/4040/replies", {"text": "hello"}),
        ("POST", "/tickets/4040/status", {"status": "closed"}),
    ]:
        refused(await api(method, path, token, json=body), 404, "#4040")
    refused(await api("GET", "/tickets/abc", token), 400, "number")
    refused(await api("GET", "/tickets/99999999999", token), 400, "number")
    refused(await api("GET", "/nowhere", token), 404)


# Acting on tickets


async def test_reply_is_queued_then_delivered(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "Where is my order?")
    buttons = [{"label": "Yes", "payload": "ok:yes"}, {"label": "No", "payload": "ok:no"}]
    status, message = await api(
        "POST", f"/tickets/{number}/replies", token, json={"text": "Solved?", "buttons": buttons}
    )
    assert status == 201, message
    assert message["direction"] == "out" and not message["internal"]
    assert message["author"]["name"] == "Anna" and message["text"] == "Solved?"
    assert [(b["label"], b["payload"]) for b in message["buttons"]] == [
        ("Yes", "ok:yes"),
        ("No", "ok:no"),
    ]
    assert message["delivery"]["status"] == Delivery.QUEUED
    assert await outbox_rows(service) == 1
    _, ticket = await api("GET", f"/tickets/{number}", token)
    assert ticket["status"] == "open" and ticket["assignee"]["name"] == "Anna"

    delivered = None
    for _ in range(50):
        await service.drain_outbox()
        _, listed = await api("GET", f"/tickets/{number}/messages", token)
        delivered = listed["messages"][-1]["delivery"]
        if delivered["status"] == Delivery.SENT:
            break
        await asyncio.sleep(0.1)
    assert delivered is not None and delivered["status"] == Delivery.SENT
    assert delivered["sent_at"] and delivered["error"] is None


async def test_note_is_internal_and_not_queued(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    status, note = await api("POST", f"/tickets/{number}/notes", token, json={"text": "VIP"})
    assert status == 201 and note["internal"] and note["delivery"] is None
    assert await outbox_rows(service) == 0
    _, listed = await api("GET", f"/tickets/{number}/messages", token)
    assert [(m["direction"], m["text"]) for m in listed["messages"]] == [
        ("in", "hello"),
        ("out", "VIP"),
    ]
    assert (await api("GET", f"/tickets/{number}", token))[1]["status"] == "new"


async def test_assign_and_unassign(service: Running, api: Client):
    sveta = await service.agent_token("sveta", Role.SUPERVISOR)
    anna = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    _, listed = await api("GET", "/agents", anna)
    anna_id = next(a["id"] for a in listed["agents"] if a["login"] == "anna")

    status, ticket = await api(
        "POST", f"/tickets/{number}/assign", sveta, json={"agent_id": anna_id}
    )
    assert status == 200 and ticket["assignee"]["id"] == anna_id
    status, ticket = await api("POST", f"/tickets/{number}/assign", sveta, json={"agent_id": None})
    assert status == 200 and ticket["assignee"] is None
    refused(await api("POST", f"/tickets/{number}/assign", sveta, json={"agent_id": 999}), 400)
    _, audit = await api("GET", f"/tickets/{number}/audit", anna)
    assigns = [
        (e["old_value"], e["new_value"]) for e in audit["entries"] if e["action"] == "assign"
    ]
    assert assigns == [(None, "Anna"), ("Anna", None)]
    assert all(e["agent"]["name"] == "Sveta" for e in audit["entries"] if e["action"] == "assign")


async def test_status_lifecycle_with_reopen(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    for status in ("open", "waiting", "closed", "open"):
        got, ticket = await api("POST", f"/tickets/{number}/status", token, json={"status": status})
        assert got == 200 and ticket["status"] == status
    _, audit = await api("GET", f"/tickets/{number}/audit", token)
    assert [(e["old_value"], e["new_value"]) for e in audit["entries"]] == [
        (None, "new"),
        ("new", "open"),
        ("open", "waiting"),
        ("waiting", "closed"),
        ("closed", "open"),
    ]


async def test_invalid_transition_is_409_and_changes_nothing(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    await api("POST", f"/tickets/{number}/status", token, json={"status": "closed"})
    before = await ticket_state(api, token, number)
    answer = await api("POST", f"/tickets/{number}/status", token, json={"status": "waiting"})
    refused(answer, 409, "not waiting")
    answer = await api("POST", f"/tickets/{number}/replies", token, json={"text": "late"})
    refused(answer, 409, "reopen")
    assert await ticket_state(api, token, number) == before
    assert await outbox_rows(service) == 0


async def test_agent_cannot_act_on_another_agents_ticket(service: Running, api: Client):
    anna = await service.agent_token("anna")
    boris = await service.agent_token("boris")
    number = await customer_writes(service, "hello")
    await api("POST", f"/tickets/{number}/replies", anna, json={"text": "Mine"})
    before = await ticket_state(api, anna, number)
    outgoing = await outbox_rows(service)
    for path, body in [
        ("replies", {"text": "Let me"}),
        ("status", {"status": "closed"}),
        ("assign", {"agent_id": None}),
    ]:
        refused(await api("POST", f"/tickets/{number}/{path}", boris, json=body), 403, "Anna")
    assert await ticket_state(api, anna, number) == before
    assert await outbox_rows(service) == outgoing


# Bad requests


async def test_malformed_json_is_400_and_changes_nothing(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    before = await ticket_state(api, token, number)
    for raw in ('{"text": "hi"', "", "\xff"):
        answer = await api(
            "POST",
            f"/tickets/{number}/replies",
            token,
            data=raw.encode("latin-1"),
            headers={"Content-Type": "application/json"},
        )
        refused(answer, 400, "malformed JSON")
    assert await ticket_state(api, token, number) == before


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("status", {"status": "reopened"}, "status"),
        ("status", {}, "status: field required"),
        ("status", ["open"], "object"),
        ("replies", {"text": ""}, "text"),
        ("replies", {"text": "hi", "colour": "red"}, "colour"),
        ("replies", {"text": 5}, "text"),
        (
            "replies",
            {"text": "hi", "buttons": [{"label": "Yes", "payload": "no spaces"}]},
            "payload",
        ),
        ("replies", {"text": "hi", "buttons": [{"label": "", "payload": "ok"}]}, "label"),
        ("assign", {"agent_id": "1"}, "agent_id"),
        ("assign", {}, "agent_id"),
        ("assign", {"agent_id": 2**40}, "agent_id"),
        ("notes", {"text": "x" * 20_001}, "text"),
        ("notes", {"text": "nul\x00byte"}, "NUL"),
    ],
)
async def test_invalid_fields_are_400_and_change_nothing(
    service: Running, api: Client, path: str, body: Any, words: str
):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    before = await ticket_state(api, token, number)
    refused(await api("POST", f"/tickets/{number}/{path}", token, json=body), 400, words)
    assert await ticket_state(api, token, number) == before
    assert await outbox_rows(service) == 0


async def test_body_that_is_not_json_is_415(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    answer = await api("POST", f"/tickets/{number}/notes", token, data={"text": "form"})
    refused(answer, 415, "application/json")
    refused(await api("POST", "/session", data="anna"), 415, "application/json")


async def test_oversized_body_is_413_and_changes_nothing(service: Running, api: Client):
    token = await service.agent_token("anna")
    number = await customer_writes(service, "hello")
    before = await ticket_state(api, token, number)
    huge = json.dumps({"text": "x" * 2 * 1024 * 1024})
    answer = await api(
        "POST",
        f"/tickets/{number}/notes",
        token,
        data=huge,
        headers={"Content-Type": "application/json"},
    )
    refused(answer, 413, "larger than")
    assert await ticket_state(api, token, number) == before


# Agents


async def test_any_agent_lists_agents_only_admins_add_them(service: Running, api: Client):
    anna = await service.agent_token("anna")
    admin = await service.agent_token("root", Role.ADMIN)
    status, listed = await api("GET", "/agents", anna)
    assert status == 200
    assert {(a["login"], a["role"]) for a in listed["agents"]} == {
        ("anna", "agent"),
        ("root", "admin"),
    }
    new = {"name": "Boris", "login": "boris", "role": "supervisor"}
    refused(await api("POST", "/agents", anna, json=new), 403, "admin")
    assert len((await api("GET", "/agents", anna))[1]["agents"]) == 2

    status, made = await api("POST", "/agents", admin, json={**new, "telegram_id": 42})
    assert status == 201, made
    assert made["agent"]["login"] == "boris" and made["agent"]["role"] == "supervisor"
    assert made["agent"]["telegram_id"] == 42
    prefix = f"{service.state.config.web.base_url}/inbox/setup/"
    assert made["setup_url"].startswith(prefix)
    setup_token = made["setup_url"].removeprefix(prefix)
    found = await agents.agent_for_setup(service.state.db, setup_token, service.state.clock())
    assert found is not None and found.login == "boris"
    refused(await api("POST", "/agents", admin, json=new), 400, "taken")
    refused(await api("POST", "/agents", admin, json={**new, "role": "owner"}), 400, "role")


# CSRF for cookie sessions


async def test_cookie_session_needs_the_csrf_header(service: Running, api: Client):
    await make_agent(service.state.db, "anna")
    _, signed = await api("POST", "/session", json={"login": "anna", "password": PASSWORD})
    number = await customer_writes(service, "hello")
    cookie = {"Cookie": f"otklik_session={signed['token']}"}
    path = f"/tickets/{number}/notes"
    refused(await api("POST", path, headers=cookie, json={"text": "no token"}), 403)
    wrong = {**cookie, "X-CSRF-Token": "forged"}
    refused(await api("POST", path, headers=wrong, json={"text": "bad token"}), 403)
    _, listed = await api("GET", f"/tickets/{number}/messages", headers=cookie)
    assert len(listed["messages"]) == 1  # reading needs no CSRF token, and nothing was added
    good = {**cookie, "X-CSRF-Token": signed["csrf_token"]}
    status, note = await api("POST", path, headers=good, json={"text": "with token"})
    assert status == 201 and note["text"] == "with token"


# The description


async def test_openapi_lists_every_registered_route(service: Running, api: Client):
    status, doc = await api("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    registered = {
        (r.method.lower(), r.resource.canonical)
        for r in service.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith(API)
        and r.method not in ("HEAD", "OPTIONS")
    }
    described = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert described == registered and len(registered) == len(ROUTES)
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_openapi_operations_are_complete(api: Client):
    _, doc = await api("GET", "/openapi.json")
    schemas = doc["components"]["schemas"]
    refs = [v for v in _walk(doc) if isinstance(v, str) and v.startswith("#/")]
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs)
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = op.get("security") == []
            assert public == (
                path in (f"{API}/session", f"{API}/openapi.json") and method != "delete"
            )
            if not public:
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == error
            if method == "post":
                assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert "400" in op["responses"] and "413" in op["responses"]
            if "{number}" in path:
                [param] = [p for p in op["parameters"] if p["in"] == "path"]
                assert param["name"] == "number" and param["required"]
    replies = doc["paths"][f"{API}/tickets/{{number}}/replies"]["post"]
    assert set(replies["responses"]) >= {"201", "400", "401", "403", "404", "409", "413"}
    query = {p["name"] for p in doc["paths"][f"{API}/tickets"]["get"]["parameters"]}
    assert query == {"status", "assignee", "inbox", "q", "limit", "offset"}
    assert schemas["StatusIn"]["properties"]["status"]["enum"] == ["open", "waiting", "closed"]


def _walk(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    else:
        yield node
