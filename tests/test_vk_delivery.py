"""Delivering to VK: refusals that are final, flood control retried, and the long poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from bots.vk.channel import VkChannel
from core import queries
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.messages import Inbound
from core.models import Delivery, Message
from core.sender import Sender
from settings.config import VkInbox
from tests.fakes.vk import FakeVk
from tests.service import Running
from tests.vk_service import (
    ALICE,
    GROUP,
    RETRY_SECONDS,
    TOKEN,
    _service,
    alice_ticket,
    svc,
    tickets,
    vk,
)
from tests.waiting import eventually

__all__ = ["svc", "vk"]  # fixtures


async def test_error_901_fails_the_message_with_a_note_and_later_ones_at_once(
    svc: Running, vk: FakeVk
):
    ticket = await alice_ticket(vk, svc)
    vk.deny(ALICE.id)
    await svc.state.desk.reply(ticket.number, None, "Hello")
    await svc.delivered()
    *_, reply, note = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.FAILED and reply.delivery.attempts == 1
    assert "VK error 901" in reply.delivery.last_error
    assert note.internal and "Delivery failed" in note.text
    tried = len(vk.params_of("messages.send"))

    await svc.state.desk.reply(ticket.number, None, "Are you there?")
    await svc.delivered()
    assert len(vk.params_of("messages.send")) == tried  # not even tried
    *_, later, _ = await queries.messages(svc.state.db, ticket.id)
    assert later.delivery.status == Delivery.FAILED
    assert later.delivery.last_error.startswith("the customer cannot be messaged here")


@pytest.mark.parametrize(("code", "wait"), [(6, 1.0), (9, 30.0)])
async def test_too_many_requests_and_flood_control_are_retried_later(
    svc: Running, vk: FakeVk, code: int, wait: float
):
    ticket = await alice_ticket(vk, svc)
    vk.fail_next("messages.send", code)
    await svc.state.desk.reply(ticket.number, None, "Hello")
    await svc.delivered()
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.QUEUED
    assert f"VK error {code}" in reply.delivery.last_error
    assert f"retry after {wait:g}s" in reply.delivery.last_error
    assert vk.sent_to(ALICE.id) == []
    if code == 6:
        await asyncio.sleep(wait + 0.1)
        await svc.delivered()
        *_, reply = await queries.messages(svc.state.db, ticket.id)
        assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2
        assert [m.text for m in vk.sent_to(ALICE.id)] == ["Hello"]


async def test_vk_unreachable_is_retried(svc: Running, vk: FakeVk):
    ticket = await alice_ticket(vk, svc)
    vk.fail_next("messages.send", 10)  # VK's internal server error
    await svc.state.desk.reply(ticket.number, None, "Hello")
    await svc.delivered()
    await asyncio.sleep(RETRY_SECONDS + 0.1)
    await svc.delivered()
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2


@pytest.fixture
async def polling(
    db: Database, database_url: str, tmp_path: Path, vk: FakeVk
) -> AsyncIterator[Running]:
    async for running_service in _service(db, database_url, tmp_path, vk, "longpoll"):
        yield running_service


async def test_long_poll_receives_messages_and_presses(polling: Running, vk: FakeVk):
    db = polling.state.db
    await eventually(lambda: vk.polls)
    vk.push(vk.message_new(ALICE, "Hello from long poll"))
    [ticket] = await eventually(lambda: tickets(db))
    assert ticket.subject == "Hello from long poll"
    await eventually(lambda: vk.pending() == 0)

    vk.expire_key()  # the next check answers failed=2: a new key, our ts kept
    vk.push(vk.message_new(ALICE, "and again"))
    await eventually(lambda: _count(db, ticket.id, 2))
    assert len(vk.params_of("groups.getLongPollServer")) >= 2

    await polling.state.desk.reply(ticket.number, None, "Hi!")
    await polling.delivered()
    assert [m.text for m in vk.sent_to(ALICE.id)] == ["Hi!"]


async def _count(db: Database, ticket_id: int, n: int) -> bool:
    return len(await queries.messages(db, ticket_id)) == n


async def test_files_vk_is_not_sent_arrive_as_links_in_the_text(
    desk: Desk, db: Database, vk: FakeVk
):
    """No adapter sends files: the core writes them into the text, and VK gets that text."""
    inbox = VkInbox.model_validate(
        {"name": "vk", "channel": "vk", "token": TOKEN, "group_id": GROUP, "mode": "longpoll"}
        | {"api_url": vk.base_url}
    )
    channel = VkChannel(inbox, desk, "en")
    await desk.sync_inboxes([("vk", "vk")])
    got = await desk.receive(Inbound(inbox="vk", external_id=str(ALICE.id), text="Receipt?"))
    message = await desk.reply(got.ticket_number, None, "Here it is")
    receipt = {"kind": "file", "name": "receipt.pdf", "url": "https://files.example/r.pdf"}
    async with db.transaction() as s:
        await s.execute(
            update(Message).where(Message.id == message.id).values(attachments=[receipt])
        )
    try:
        assert await Sender(db, {"vk": channel}, LocalBus()).drain() == 1
    finally:
        await channel.api.close()
    [sent] = vk.sent_to(ALICE.id)
    assert sent.text == "Here it is\n\n📎 receipt.pdf: https://files.example/r.pdf"
