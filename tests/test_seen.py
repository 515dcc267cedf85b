"""Updates seen before: this process's bounded memory, and Redis shared by processes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as redis

from bots.viber.channel import ViberChannel
from bots.viber.wire import Callback
from bots.vk.channel import VkChannel
from core.desk import Desk
from core.messages import Inbound
from core.seen import RecentUpdates, RedisUpdates
from settings.config import ViberInbox, VkInbox
from tests.fakes.viber import FakeViber
from tests.fakes.vk import FakeVk
from tests.redis_server import CLOSED_URL, RedisProxy, connect, redis_proxy, redis_url, unique
from tests.test_viber import ALICE as VIBER_ALICE
from tests.test_viber import TOKEN as VIBER_TOKEN
from tests.vk_service import ALICE as VK_ALICE
from tests.vk_service import GROUP as VK_GROUP
from tests.vk_service import TOKEN as VK_TOKEN

__all__ = ["connect", "redis_proxy", "redis_url", "unique"]  # fixtures


async def test_this_process_remembers_the_latest_ones():
    recent = RecentUpdates(size=2)
    for update in ("1", "2", "3"):
        assert not await recent.seen(update)
        await recent.mark(update)
    assert [await recent.seen(u) for u in ("1", "2", "3")] == [False, True, True]


async def test_one_process_marks_the_others_see(connect: Callable[..., redis.Redis], unique: str):
    one, other = (RedisUpdates(connect(), f"telegram:{unique}") for _ in range(2))
    elsewhere = RedisUpdates(connect(), f"telegram:{unique}-other")
    assert not await other.seen("7")
    await one.mark("7")
    assert await other.seen("7")
    assert not await elsewhere.seen("7")  # another inbox
    assert 0 < await connect().ttl(f"otklik:seen:telegram:{unique}:7") <= 24 * 3600


async def test_without_redis_nothing_is_refused_and_this_process_remembers(
    connect: Callable[..., redis.Redis], caplog: pytest.LogCaptureFixture
):
    gone = RedisUpdates(connect(CLOSED_URL), "vk:any")
    with caplog.at_level(logging.WARNING, logger="otklik.seen"):
        assert not await gone.seen("e1")
        await gone.mark("e1")
        assert await gone.seen("e1")
    [said] = [r.getMessage() for r in caplog.records if r.name == "otklik.seen"]
    assert "Redis does not answer" in said  # once, not once a call


async def test_what_was_marked_while_redis_was_gone_is_still_seen_here(
    connect: Callable[..., redis.Redis], redis_proxy: RedisProxy, unique: str
):
    seen = RedisUpdates(connect(redis_proxy.url), f"viber:{unique}")
    await redis_proxy.cut()
    await seen.mark("m1")
    await redis_proxy.mend()
    assert await seen.seen("m1")
    await seen.mark("m2")
    assert await RedisUpdates(connect(), f"viber:{unique}").seen("m2")  # in Redis again


# -- the VK and Viber adapters of one inbox in two processes -----------------------------------


class Received:
    """Counts what reaches the core from the adapters."""

    def __init__(self, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        receive = desk.receive

        async def counted(inbound: Inbound) -> Any:
            self.count += 1
            return await receive(inbound)

        monkeypatch.setattr(desk, "receive", counted)


async def test_a_vk_event_one_process_handled_is_skipped_by_the_other(
    desk: Desk,
    connect: Callable[..., redis.Redis],
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
):
    await desk.sync_inboxes([(unique, "vk")])
    async with FakeVk(VK_TOKEN, VK_GROUP) as vk:
        vk.add_user(VK_ALICE)
        inbox = VkInbox.model_validate(
            {
                "name": unique,
                "channel": "vk",
                "token": VK_TOKEN,
                "group_id": VK_GROUP,
                "mode": "longpoll",
                "api_url": vk.base_url,
            }
        )
        one, other = (VkChannel(inbox, desk, "en", redis=connect()) for _ in range(2))
        received = Received(desk, monkeypatch)
        update = vk.message_new(VK_ALICE, "Where is my order?")
        try:
            await one.events.handle(update)
            await other.events.handle(update)
        finally:
            await one.api.close()
            await other.api.close()
    assert received.count == 1


async def test_a_viber_message_one_process_handled_is_skipped_by_the_other(
    desk: Desk,
    connect: Callable[..., redis.Redis],
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
):
    await desk.sync_inboxes([(unique, "viber")])
    async with FakeViber(VIBER_TOKEN) as viber:
        inbox = ViberInbox.model_validate(
            {"name": unique, "channel": "viber", "token": VIBER_TOKEN, "api_url": viber.base_url}
        )
        one, other = (
            ViberChannel(inbox, desk, "en", "http://127.0.0.1:1", redis=connect()) for _ in range(2)
        )
        received = Received(desk, monkeypatch)
        callback = Callback.model_validate(viber.text_message(VIBER_ALICE, "Where is my order?"))
        try:
            await one.callbacks.handle(callback)
            await other.callbacks.handle(callback)
        finally:
            await one.api.close()
            await other.api.close()
    assert received.count == 1
