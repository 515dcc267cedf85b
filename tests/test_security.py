"""Who may call what: every route of the app, read from its router, is either on the explicit
list of public routes below or refused without a session (and with the wrong role); every
channel's webhook refuses a request without its secret or signature. A refused request
writes no row. A route added without being listed here fails the first test."""

from __future__ import annotations

import json
import re

import aiohttp
from aiohttp import web

from bots.viber.signature import sign
from core.messages import Inbound
from core.models import Role
from tests.test_fuzz_webhooks import TG_SECRET, VIBER_TOKEN, VK_GROUP, VK_SECRET, Fuzzed
from tests.test_fuzz_webhooks import fuzzed as fuzzed  # the service with every channel

# Public routes, by path pattern: each checks what it needs on its own (a token in the path,
# the web chat's signed visitor cookie, a webhook's secret, [web] metrics_token).
PUBLIC = {
    r"/healthz": "health",
    r"/metrics": "metrics (token or loopback, tests/test_metrics.py)",
    r"/inbox/login": "sign-in",
    r"/inbox/setup/\{token\}": "one-time password setup link",
    r"/api/v1/session": "API sign-in (DELETE signs out the session presented)",
    r"/api/v1/openapi\.json": "the API's description",
    r"/rate/\{token\}(/comment)?": "rating page",
    r"/press/\{button\}": "email button page",
    r"/survey/\{token\}": "survey form",
    r"/chat(/[a-z0-9_-]+)?": "web chat page",
    r"/chat/widget\.js": "web chat widget",
    r"/chat/api/[a-z0-9_-]+/(history|messages|press|ws)": "web chat (visitor cookie)",
    r"/webhooks/(telegram|vk|viber)/[a-z0-9_-]+": "channel webhooks (secret or signature)",
    r"/(chat/)?static": "static files",
}
# Routes for some roles only, by path pattern; every other route is for any signed-in agent.
ROLES = {
    r"/admin/.*": {Role.ADMIN},
    r"/reports(/.*)?": {Role.SUPERVISOR, Role.ADMIN},
    r"POST /api/v1/agents": {Role.ADMIN},
}
# A value for each path placeholder (ticket 1, message 1 exist in the fixture).
PLACEHOLDERS = {
    "number": "1",
    "message": "1",
    "index": "0",
    "token": "x" * 22,
    "file": "10-rules.toml",
    "change": "1",
    "task": "1",
    "notification": "1",
    "button": "abcdefghijkl",
}


def path_of(route: web.AbstractRoute) -> str:
    info = route.resource.get_info() if route.resource else {}
    return str(info.get("formatter") or info.get("path") or info.get("prefix"))


def _matches(patterns: dict[str, object], method: str, path: str) -> object | None:
    for pattern, what in patterns.items():
        if re.fullmatch(pattern, path) or re.fullmatch(pattern, f"{method} {path}"):
            return what
    return None


def guarded(app: web.Application) -> list[tuple[str, str]]:
    """Every (method, path) of the app that is not public: they need a signed-in agent."""
    routes = {(r.method, path_of(r)) for r in app.router.routes() if r.method != "HEAD"}
    return sorted((m, p) for m, p in routes if _matches(PUBLIC, m, p) is None)


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: PLACEHOLDERS[m.group(1)], path)


def refused(status: int, location: str | None) -> bool:
    """401/403, or a page's redirect to sign-in."""
    return status in (401, 403) or (status == 303 and (location or "").startswith("/inbox/login"))


async def _request(
    fuzzed: Fuzzed, method: str, path: str, headers: dict[str, str]
) -> tuple[int, str | None]:
    async with fuzzed.http.request(
        method, fuzzed.svc.url + concrete(path), headers=headers, allow_redirects=False, json={}
    ) as response:
        return response.status, response.headers.get("Location")


async def _ticket(fuzzed: Fuzzed) -> None:
    await fuzzed.svc.state.desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))


async def test_every_route_is_public_by_the_list_or_refused_without_a_session(fuzzed: Fuzzed):
    await _ticket(fuzzed)
    routes = {(r.method, path_of(r)) for r in fuzzed.svc.app.router.routes()}
    for pattern in PUBLIC:  # no stale entry: each one still names a route
        assert any(re.fullmatch(pattern, p) for _, p in routes), f"{pattern} matches no route"
    checked = guarded(fuzzed.svc.app)
    assert ("GET", "/inbox") in checked and ("POST", "/api/v1/agents") in checked
    before = await fuzzed.rows()
    for method, path in checked:
        for headers in ({}, {"Authorization": "Bearer not-a-session"}):
            status, location = await _request(fuzzed, method, path, headers)
            assert refused(status, location), f"{method} {path} {headers}: {status} {location}"
    assert await fuzzed.rows() == before


async def test_routes_for_some_roles_refuse_the_others(fuzzed: Fuzzed):
    await _ticket(fuzzed)
    tokens = {role: await fuzzed.svc.agent_token(f"user-{role}", role) for role in Role}
    limited = [(m, p) for m, p in guarded(fuzzed.svc.app) if _matches(ROLES, m, p)]
    assert ("GET", "/reports") in limited and ("GET", "/admin/rules") in limited
    before = await fuzzed.rows()
    for method, path in limited:
        allowed = _matches(ROLES, method, path)
        assert isinstance(allowed, set)
        for role in set(Role) - allowed:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            status, _ = await _request(fuzzed, method, path, headers)
            assert status == 403, f"{method} {path} as {role}: {status}"
    assert await fuzzed.rows() == before


# Per channel: a request as the platform would send it, and how to leave out its credential.
MESSAGE = {"message_id": 1, "date": 1_700_000_000, "text": "hello"}
UNSIGNED = {
    "telegram": (
        {
            "update_id": 1,
            "message": {
                **MESSAGE,
                "chat": {"id": 7, "type": "private"},
                "from": {"id": 7, "is_bot": False, "first_name": "Eve"},
            },
        },
        [{}, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET + "x"}],
    ),
    "vk": (
        {
            "type": "message_new",
            "group_id": VK_GROUP,
            "object": {"message": {**MESSAGE, "id": 1, "peer_id": 7, "from_id": 7}},
        },
        [{}, {"secret": VK_SECRET + "x"}, {"secret": ""}],
    ),
    "viber": (
        {
            "event": "message",
            "timestamp": 1_700_000_000_000,
            "message_token": 1,
            "sender": {"id": "eve", "name": "Eve"},
            "message": {"type": "text", "text": "hello"},
        },
        [{}, {"X-Viber-Content-Signature": "0" * 64}],
    ),
}
SIGNED_BODY = {"vk": {"secret": VK_SECRET}}


async def test_every_webhook_refuses_a_request_without_its_secret(fuzzed: Fuzzed):
    hooks = [path_of(r) for r in fuzzed.svc.app.router.routes() if path_of(r).startswith("/web")]
    assert len(hooks) == len(UNSIGNED)  # a new channel's webhook needs its case here
    before = await fuzzed.rows()
    for path in hooks:
        update, variants = UNSIGNED[path.split("/")[2]]
        for variant in variants:
            body = {**update, **{k: v for k, v in variant.items() if not k.startswith("X-")}}
            headers = {k: v for k, v in variant.items() if k.startswith("X-")}
            async with aiohttp.ClientSession() as http:
                response = await http.post(
                    fuzzed.svc.url + path, data=json.dumps(body), headers=headers
                )
            assert response.status in (401, 403), f"{path} {variant}: {response.status}"
    assert await fuzzed.rows() == before
    for path in hooks:  # the same updates with their credential are taken
        channel = path.split("/")[2]
        body = json.dumps({**UNSIGNED[channel][0], **SIGNED_BODY.get(channel, {})}).encode()
        headers = {
            "telegram": {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            "vk": {},
            "viber": {"X-Viber-Content-Signature": sign(body, VIBER_TOKEN)},
        }[channel]
        async with aiohttp.ClientSession() as http:
            response = await http.post(fuzzed.svc.url + path, data=body, headers=headers)
        assert response.status == 200, f"{path}: {response.status} {await response.text()}"
    assert (await fuzzed.rows())[1] == before[1] + len(hooks)  # one message each
