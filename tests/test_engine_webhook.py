"""The ``webhook`` action: the POST, its retries and back-off, and how the engine carries on."""

from __future__ import annotations

import asyncio
import functools
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core import delays
from core.db import Database
from core.engine import perform, webhook
from core.engine.webhook import WebhookFailed, post
from core.models import DelayedRun
from tests.engine import Rig, rig

HANG = 0  # a planned "status": answer nothing until the test ends


class Receiver:
    """A webhook endpoint on 127.0.0.1: answers each POST with the next planned status
    (200 when the plan is spent) and keeps what it received."""

    def __init__(self) -> None:
        self.plan: list[int] = []
        self.received: list[tuple[dict[str, str], Any]] = []
        self.methods: list[str] = []
        self.url = ""
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.methods.append(request.method)
        self.received.append((dict(request.headers), json.loads(raw) if raw else None))
        status = self.plan.pop(0) if self.plan else 200
        if status == HANG:
            await self.release.wait()
            status = 200
        return web.json_response({"ok": status < 300}, status=status)

    @property
    def deliveries(self) -> list[str]:
        return [headers["X-Otklik-Delivery"] for headers, _ in self.received]

    @property
    def bodies(self) -> list[Any]:
        return [body for _, body in self.received]


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/hook")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()
    app = web.Application()
    app.router.add_route("*", "/hook", got.handle)
    app.router.add_post("/moved", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    got.url = str(server.make_url("/hook"))
    try:
        yield got
    finally:
        got.release.set()
        await server.close()


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def fake_sleep(pauses: list[float]):
    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    return sleep


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# post() itself, with a sleep that only records the pauses


async def test_a_failing_post_is_retried_with_the_same_delivery_until_accepted(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [500, 503, 429, 200]
    body = {"event": "ticket.created", "rule": "r", "data": {"n": 1}, "ключ": "значение"}
    status = await post(
        http, receiver.url, body, seconds=5, retries=3, delivery="7:r:1", sleep=fake_sleep
    )
    assert status == 200
    assert pauses == [1.0, 2.0, 4.0]
    assert receiver.deliveries == ["7:r:1"] * 4
    assert receiver.bodies == [body] * 4
    headers, _ = receiver.received[0]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Otklik-Event"] == "ticket.created"


async def test_the_back_off_doubles_up_to_thirty_seconds_then_the_post_fails(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [500] * 8
    with pytest.raises(WebhookFailed, match=r"failed 8 time\(s\), last: HTTP 500"):
        await post(http, receiver.url, {}, seconds=5, retries=7, delivery="d", sleep=fake_sleep)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert len(receiver.received) == 8


async def test_a_client_error_is_not_retried(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [404]
    with pytest.raises(WebhookFailed, match="answered HTTP 404; not retried"):
        await post(http, receiver.url, {}, seconds=5, retries=3, delivery="d", sleep=fake_sleep)
    assert pauses == []
    assert len(receiver.received) == 1


async def test_a_redirect_is_not_followed_since_the_json_would_be_lost(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    moved = receiver.url.replace("/hook", "/moved")
    with pytest.raises(WebhookFailed, match=r"answered HTTP 301 \(Location: /hook\); not retried"):
        await post(http, moved, {"a": 1}, seconds=5, retries=3, delivery="d", sleep=fake_sleep)
    assert receiver.methods == []  # never a GET without the body, taken for a delivery
    assert pauses == []


async def test_a_post_that_times_out_is_retried_then_fails(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [HANG, HANG]
    with pytest.raises(WebhookFailed, match=r"failed 2 time\(s\), last: .*Timeout"):
        await post(http, receiver.url, {}, seconds=0.1, retries=1, delivery="d", sleep=fake_sleep)
    assert pauses == [1.0]
    assert receiver.deliveries == ["d", "d"]


async def test_a_post_that_times_out_once_succeeds_on_the_retry(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [HANG, 201]
    status = await post(
        http, receiver.url, {}, seconds=0.1, retries=1, delivery="d", sleep=fake_sleep
    )
    assert status == 201
    assert pauses == [1.0]


async def test_an_unreachable_url_is_retried_then_fails(
    http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    url = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
    with pytest.raises(WebhookFailed, match=r"failed 3 time\(s\), last: ClientConnectorError"):
        await post(http, url, {}, seconds=5, retries=2, delivery="d", sleep=fake_sleep)
    assert pauses == [1.0, 2.0]


async def test_no_retries_means_one_try(
    receiver: Receiver, http: aiohttp.ClientSession, fake_sleep, pauses: list[float]
):
    receiver.plan = [502]
    with pytest.raises(WebhookFailed, match=r"failed 1 time\(s\), last: HTTP 502"):
        await post(http, receiver.url, {}, seconds=5, retries=0, delivery="d", sleep=fake_sleep)
    assert pauses == []


# through the engine: the rule's keys, retries and what happens after


@pytest.fixture
async def r(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep
) -> AsyncIterator[Rig]:
    # the performer's back-off pauses are recorded instead of slept
    monkeypatch.setattr(perform, "post", functools.partial(webhook.post, sleep=fake_sleep))
    async with rig(db, tmp_path) as built:
        yield built


async def run_states(r: Rig) -> list[str]:
    async with r.db.reading() as s:
        return list((await s.scalars(select(DelayedRun.state).order_by(DelayedRun.id))).all())


def hook_rule(url: str, keys: str = "") -> str:
    return f"""
[[rule]]
id = "hook"
on = "message.received"
then = [
  {{ action = "webhook", url = "{url}"{keys} }},
  {{ action = "note", text = "after" }},
]
"""


async def test_the_webhook_posts_the_event_the_rule_the_data_and_the_payload(
    r: Rig, receiver: Receiver
):
    r.write(
        hook_rule(
            receiver.url,
            ', payload = { source = "otklik", team = { name = "support", size = 3 }, '
            'event = "not this" }',
        )
    )
    number = await r.say("hello")
    [(headers, body)] = receiver.received
    assert body["event"] == "message.received"  # the payload cannot pass for the event
    assert body["rule"] == "hook"
    assert (body["source"], body["team"]) == ("otklik", {"name": "support", "size": 3})
    assert body["data"]["ticket"]["number"] == number
    assert body["data"]["message"]["text"] == "hello"
    assert body["data"]["inbox"] == {"name": "web", "channel": "webchat"}
    assert headers["X-Otklik-Event"] == "message.received"
    assert await r.texts(number, internal=True) == ["after"]
    await r.say("again")
    first, second = receiver.deliveries
    assert first != second  # a new event is a new delivery, not a retry


async def test_a_webhook_answering_500_then_200_is_retried_and_done(
    r: Rig, receiver: Receiver, pauses: list[float], caplog: pytest.LogCaptureFixture
):
    r.write(hook_rule(receiver.url, ", retries = 2"))
    receiver.plan = [500, 200]
    number = await r.say("hello")
    assert len(receiver.received) == 2
    assert len(set(receiver.deliveries)) == 1
    assert pauses == [1.0]
    assert await r.texts(number, internal=True) == ["after"]
    assert await run_states(r) == [delays.DONE]
    assert "(webhook) failed" not in caplog.text


async def test_a_webhook_answering_404_is_not_retried_and_the_next_action_runs(
    r: Rig, receiver: Receiver, pauses: list[float], caplog: pytest.LogCaptureFixture
):
    r.write(hook_rule(receiver.url, ", retries = 3"))
    receiver.plan = [404]
    number = await r.say("hello")
    assert len(receiver.received) == 1
    assert pauses == []
    assert await r.texts(number, internal=True) == ["after"]
    assert await run_states(r) == [delays.DONE]  # the action failed, not the run
    assert f'rule "hook" action 1 (webhook) failed on message.received of ticket {number}' in (
        caplog.text
    )
    assert "answered HTTP 404; not retried" in caplog.text


async def test_a_webhook_that_times_out_is_retried_then_fails_and_the_next_action_runs(
    r: Rig, receiver: Receiver, pauses: list[float], caplog: pytest.LogCaptureFixture
):
    r.write(hook_rule(receiver.url, ", timeout = 0.1, retries = 1"))
    receiver.plan = [HANG, HANG]
    number = await r.say("hello")
    assert len(receiver.received) == 2
    assert len(set(receiver.deliveries)) == 1
    assert pauses == [1.0]
    assert await r.texts(number, internal=True) == ["after"]
    assert 'rule "hook" action 1 (webhook) failed' in caplog.text
    assert "failed 2 time(s), last: " in caplog.text
