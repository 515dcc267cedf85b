"""Fuzzing every channel's entry points: generated updates, signed and not, well-formed and not.

One service serves a web chat, a Telegram webhook, a VK Callback API and a Viber webhook over
the platforms' emulators. Whatever comes in, the answer is never a 5xx (the database is up
here: a 5xx would make the platform send the update again and again), a request without the
channel's secret or signature is refused, and a refused request writes no row.
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
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bots.viber.signature import HEADER as VIBER_SIGNATURE
from bots.viber.signature import sign
from core.db import Database
from core.models import (
    AuditEntry,
    Button,
    Customer,
    DelayedRun,
    Identity,
    Message,
    OutboxItem,
    Rating,
    Ticket,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.viber import FakeViber
from tests.fakes.vk import FakeVk
from tests.service import Running, running, service_config
from tests.test_telegram import free_port

TG_TOKEN = "123456789:AAE" + "t" * 32
TG_SECRET = "webhook-secret-" + "s" * 16
VK_TOKEN = "vk1." + "t" * 60
VK_GROUP = 218_000_001
VK_SECRET = "CallbackSecret42"
VIBER_TOKEN = "4a5b6c7d8e9f0a1b-" + "c" * 16 + "-0d1e2f3a4b5c6d7e"
TABLES = (Ticket, Message, OutboxItem, Customer, Identity, AuditEntry, DelayedRun, Button, Rating)

FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# -- what any JSON may be, and updates with at most one thing wrong ---------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_GONE = object()


def record(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A platform object: the fields it always has, and some of those it may have."""
    return st.fixed_dictionaries(required, optional=optional)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: dict keys and list indexes, outermost first."""
    if isinstance(value, dict):
        inner = [_places(v, (*path, k)) for k, v in value.items()]
    elif isinstance(value, list):
        inner = [_places(v, (*path, i)) for i, v in enumerate(value)]
    else:
        inner = []
    return [path, *(p for places in inner for p in places)]


def _put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the place at ``path`` holding ``new`` (removed when ``new`` is _GONE)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        changed = {**value, head: _put(value[head], rest, new)}
        return {k: v for k, v in changed.items() if v is not _GONE}
    changed_list = [_put(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return [v for v in changed_list if v is not _GONE]


@st.composite
def bent(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    """A value of ``strategy`` as sent, or with one place in it replaced by any JSON value
    or removed (1 draw in 3)."""
    value = draw(strategy)
    places = _places(value)[1:]  # the whole of it is not one of its places
    if not places or draw(st.sampled_from([True, True, False])):
        return value
    return _put(value, draw(st.sampled_from(places)), draw(st.just(_GONE) | json_values))


ids = st.integers(1, 2**53) | st.integers(-(2**63), 2**63 - 1)
dates = st.integers(1_600_000_000, 1_900_000_000)
coords = st.floats(-180, 180)
texts = st.text(min_size=1, max_size=300) | st.sampled_from(
    ["/start", "/start link-abc", "/rate 5", " ", "", "otk:b:abc", "otk:b:" + "x" * 32]
)


# -- the service -------------------------------------------------------------------------------


@dataclass
class Fuzzed:
    svc: Running
    http: aiohttp.ClientSession  # keeps no cookies: each request sends what the test gives
    visitor: str = ""  # a web chat visitor's cookie, from a page load

    async def chat_cookie(self) -> str:
        if not self.visitor:
            async with self.http.get(self.svc.url + "/chat/web") as page:
                assert page.status == 200
                self.visitor = page.cookies["otklik_chat_web"].value
        return self.visitor

    async def rows(self) -> tuple[int, ...]:
        async with self.svc.state.db.reading() as s:
            counts = [select(func.count()).select_from(t).scalar_subquery() for t in TABLES]
            return tuple((await s.execute(select(*counts))).one())

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and check the answer: never 5xx; refused, then nothing was written."""
        before = await self.rows()
        async with self.http.post(self.svc.url + path, data=body, headers=headers) as response:
            status = response.status
            await response.read()
        assert status < 500, f"{path} answered {status} to {body[:500]!r} {headers}"
        after = await self.rows()
        if status >= 400:
            assert after == before, f"{path} refused ({status}) yet wrote rows"
        event(f"{status}, {'wrote rows' if after != before else 'no rows'}")
        return status


@pytest.fixture
async def fuzzed(db: Database, database_url: str, tmp_path: Path) -> AsyncIterator[Fuzzed]:
    port = free_port()
    async with (
        FakeTelegram(TG_TOKEN) as telegram,
        FakeVk(VK_TOKEN, VK_GROUP, secret=VK_SECRET) as vk,
        FakeViber(VIBER_TOKEN) as viber,
    ):
        inboxes = [
            {"name": "web", "channel": "webchat"},
            {
                "name": "tg",
                "channel": "telegram",
                "token": TG_TOKEN,
                "mode": "webhook",
                "webhook_secret": TG_SECRET,
                "api_server": telegram.base_url,
            },
            {
                "name": "vk",
                "channel": "vk",
                "token": VK_TOKEN,
                "group_id": VK_GROUP,
                "mode": "callback",
                "secret": VK_SECRET,
                "confirmation": "a1b2c3d4",
                "api_url": vk.base_url,
            },
            {
                "name": "vb",
                "channel": "viber",
                "token": VIBER_TOKEN,
                "sender_name": "Acme",
                "api_url": viber.base_url,
            },
        ]
        web = {"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"}
        config = service_config(database_url, tmp_path, inbox=inboxes, web=web)
        jar = aiohttp.DummyCookieJar()
        async with running(config, port=port) as svc, aiohttp.ClientSession(cookie_jar=jar) as http:
            yield Fuzzed(svc, http)


# -- Telegram ----------------------------------------------------------------------------------

tg_user = record(
    {"id": ids, "is_bot": st.booleans(), "first_name": st.text(max_size=30)},
    {"last_name": st.text(max_size=30), "username": st.text(max_size=30)},
)
tg_chat = record(
    {"id": ids, "type": st.sampled_from(["private"] * 3 + ["group", "supergroup", "channel"])},
    {"title": st.text(max_size=30), "is_forum": st.booleans()},
)
tg_file = {"file_id": st.text(max_size=40), "file_unique_id": st.text(max_size=20)}
tg_photo = record({**tg_file, "width": ids, "height": ids}, {"file_size": ids})
tg_document = record(tg_file, {"file_size": ids, "file_name": st.text(max_size=40)})
tg_message = record(
    {"message_id": ids, "date": dates, "chat": tg_chat, "from": tg_user},
    {
        "text": texts,
        "caption": texts,
        "photo": st.lists(tg_photo, max_size=3),
        "document": tg_document,
        "location": record({"latitude": coords, "longitude": coords}, {}),
        "message_thread_id": ids,
        "edit_date": dates,
        "entities": st.lists(
            record(
                {
                    "type": st.sampled_from(["bot_command", "bold", "url"]),
                    "offset": ids,
                    "length": ids,
                },
                {},
            ),
            max_size=2,
        ),
    },
)
tg_callback = record(
    {"id": st.text(max_size=20), "from": tg_user, "chat_instance": st.text(max_size=20)},
    {"data": st.text(max_size=64) | st.text(max_size=40).map("b:".__add__), "message": tg_message},
)
tg_update = st.sampled_from(
    [("message", tg_message), ("edited_message", tg_message), ("callback_query", tg_callback)]
).flatmap(lambda kind: record({"update_id": ids, kind[0]: kind[1]}, {}))
tg_secret = st.sampled_from([TG_SECRET] * 5 + [None, "", TG_SECRET[:-1] + "x"])


def bodies(update: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """The update, maybe bent, as JSON; or any JSON; or bytes that may be anything."""
    as_json = bent(update) | bent(update) | json_values
    return as_json.map(lambda u: json.dumps(u).encode()) | st.binary(max_size=200)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


NUL_PRESS = {"id": "q1", "from": {"id": 5, "is_bot": False, "first_name": "A"}, "data": "b:\x00"}


@FUZZ
@given(body=bodies(tg_update), secret=tg_secret)
@example(body=_json({"update_id": 0}), secret=TG_SECRET)  # no type we handle: was 500
@example(  # a NUL in a button id failed PostgreSQL's lookup: was 500
    body=_json({"update_id": 1, "callback_query": {**NUL_PRESS, "chat_instance": "c"}}),
    secret=TG_SECRET,
)
async def test_telegram_webhook(fuzzed: Fuzzed, body: bytes, secret: str | None):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    status = await fuzzed.post("/webhooks/telegram/tg", body, headers)
    if secret != TG_SECRET:
        assert status == 401


# -- VK ----------------------------------------------------------------------------------------

vk_message = record(
    {"id": ids, "date": dates, "peer_id": ids, "from_id": ids, "text": texts},
    {
        "conversation_message_id": ids,
        "payload": st.text(max_size=50),
        "attachments": st.lists(json_values, max_size=2),
        "fwd_messages": st.lists(json_values, max_size=1),
    },
)
vk_objects = {
    "message_new": record({"message": vk_message}, {"client_info": json_values}),
    "message_edit": vk_message,
    "message_event": record(
        {"user_id": ids, "peer_id": ids, "event_id": st.text(max_size=20)},
        {
            "payload": record({"b": st.text(max_size=40)}, {}) | json_values,
            "conversation_message_id": ids,
        },
    ),
    "message_allow": record({"user_id": ids}, {"key": st.text(max_size=10)}),
    "message_deny": record({"user_id": ids}, {}),
    "confirmation": st.just({}),
    "wall_post_new": json_values,
}
vk_update = st.sampled_from(sorted(vk_objects)).flatmap(
    lambda kind: record(
        {
            "type": st.just(kind),
            "group_id": st.sampled_from([VK_GROUP] * 5 + [1]),
            "object": vk_objects[kind],
            "secret": st.sampled_from([VK_SECRET] * 5 + ["", "wrong-secret"]),
        },
        {"event_id": st.text(max_size=20), "v": st.just("5.199")},
    )
)


@FUZZ
@given(body=bodies(vk_update))
@example(  # a NUL in a button id failed PostgreSQL's lookup: was 500
    body=_json(
        {
            "type": "message_event",
            "group_id": VK_GROUP,
            "secret": VK_SECRET,
            "object": {"user_id": 5, "peer_id": 5, "event_id": "e1", "payload": {"b": "\x00"}},
        }
    )
)
async def test_vk_callback_api(fuzzed: Fuzzed, body: bytes):
    status = await fuzzed.post("/webhooks/vk/vk", body, {"Content-Type": "application/json"})
    try:
        update = json.loads(body)
    except ValueError:
        return
    if not isinstance(update, dict) or update.get("type") == "confirmation":
        return
    if update.get("secret") != VK_SECRET:
        assert status in (400, 403)


# -- Viber -------------------------------------------------------------------------------------

viber_user = record(
    {"id": st.text(min_size=1, max_size=30)},
    {"name": st.text(max_size=30), "language": st.text(max_size=5), "api_version": ids},
)
viber_content = record(
    {
        "type": st.sampled_from(
            ["text", "picture", "file", "video", "sticker", "contact", "location", "url", "rich"]
        )
    },
    {
        "text": texts,
        "media": st.text(max_size=60),
        "file_name": st.text(max_size=30),
        "size": ids,
        "sticker_id": ids,
        "tracking_data": st.text(max_size=40),
        "contact": record({}, {"name": st.text(max_size=20), "phone_number": st.text()}),
        "location": record({"lat": coords, "lon": coords}, {}),
    },
)
viber_fields: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": st.integers(1_600_000_000_000, 1_900_000_000_000) | ids,
    "message_token": ids,
    "sender": viber_user,
    "message": viber_content,
    "user": viber_user,
    "user_id": st.text(max_size=30),
    "subscribed": st.booleans(),
    "desc": st.text(max_size=30),
}
viber_needs = {  # what each event carries when Viber sends it
    "message": ("timestamp", "message_token", "sender", "message"),
    "subscribed": ("timestamp", "user"),
    "conversation_started": ("timestamp", "user", "subscribed"),
    "unsubscribed": ("timestamp", "user_id"),
    "delivered": ("timestamp", "message_token", "user_id"),
    "seen": ("timestamp", "message_token", "user_id"),
    "failed": ("timestamp", "message_token", "user_id", "desc"),
    "webhook": ("timestamp",),
}
viber_callback = st.sampled_from(sorted(viber_needs)).flatmap(
    lambda kind: record(
        {"event": st.just(kind), **{f: viber_fields[f] for f in viber_needs[kind]}},
        {f: v for f, v in viber_fields.items() if f not in viber_needs[kind]},
    )
)


@FUZZ
@given(
    body=bodies(viber_callback),
    signature=st.sampled_from(["valid"] * 5 + ["missing", "wrong"]),
)
async def test_viber_webhook(fuzzed: Fuzzed, body: bytes, signature: str):
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers[VIBER_SIGNATURE] = sign(body, VIBER_TOKEN)
    elif signature == "wrong":
        headers[VIBER_SIGNATURE] = sign(body, VIBER_TOKEN + "x")
    status = await fuzzed.post("/webhooks/viber/vb", body, headers)
    if signature != "valid":
        assert status == 403


# -- the web chat ------------------------------------------------------------------------------

client_ids = st.from_regex(r"\A[A-Za-z0-9_-]{8,64}\Z")
said = record({"text": texts, "client_id": client_ids}, {"name": st.text(max_size=210) | st.none()})
pressed = record({"button": st.text(max_size=40), "client_id": client_ids}, {})
content_types = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json",
        "text/plain",
        "multipart/form-data",
    ]
)


@FUZZ
@given(
    route=st.sampled_from(["messages", "press"]),
    body=bodies(said) | bodies(pressed),
    content_type=content_types,
    cookie=st.sampled_from(["visitor"] * 4 + ["none", "forged"]),
)
@example(  # a NUL in a button id failed PostgreSQL's lookup: was 500
    route="press",
    body=_json({"button": "\x00", "client_id": "00000000"}),
    content_type="application/json",
    cookie="visitor",
)
async def test_web_chat(fuzzed: Fuzzed, route: str, body: bytes, content_type: str, cookie: str):
    visitor = await fuzzed.chat_cookie()
    headers = {"Content-Type": content_type}
    if cookie == "forged":
        headers["Cookie"] = "otklik_chat_web=" + visitor.split(".")[0] + ".forged"
    elif cookie == "visitor":
        headers["Cookie"] = "otklik_chat_web=" + visitor
    status = await fuzzed.post(f"/chat/api/web/{route}", body, headers)
    if cookie != "visitor":
        assert status == 401


# -- the public pages a token opens --------------------------------------------------------


@FUZZ
@given(
    page=st.sampled_from(["rate", "press", "survey", "rate-comment"]),
    token=st.text(max_size=40) | st.sampled_from(["\x00", "..", "%", "a/b"]),
    method=st.sampled_from(["GET", "POST"]),
    form=st.dictionaries(st.sampled_from(["value", "text", "csrf", "nps"]), st.text(max_size=20)),
)
@example(page="press", token="\x00", method="GET", form={})  # was 500: PostgreSQL and a NUL
@example(page="rate", token="\x00", method="GET", form={})  # was 500
@example(page="survey", token="\x00", method="GET", form={})  # was 500
async def test_token_pages(fuzzed: Fuzzed, page: str, token: str, method: str, form: dict):
    path = f"/{page.removesuffix('-comment')}/{quote(token, safe='')}"
    if page == "rate-comment":
        path += "/comment"
    before = await fuzzed.rows()
    async with fuzzed.http.request(method, fuzzed.svc.url + path, data=form) as response:
        status = response.status
    assert status < 500, f"{method} {path} answered {status}"
    assert status >= 400  # no such token exists here
    assert await fuzzed.rows() == before
