"""The VK channel end to end: the real vkbottle API client against the fake VK API, through
the running service's Callback API webhook."""

from __future__ import annotations

import asyncio
import json

import pytest

from bots.vk.delivery import CAPABILITIES, random_id
from bots.vk.keyboards import keyboard
from core import adapt, queries
from core.messages import Button, Outbound, OutButton
from core.models import Delivery
from tests.fakes.vk import FakeVk
from tests.service import Running
from tests.vk_service import (
    ALICE,
    CONFIRMATION,
    GROUP,
    RETRY_SECONDS,
    SECRET,
    alice_ticket,
    delivered,
    hook,
    svc,
    tickets,
    vk,
)

__all__ = ["svc", "vk"]  # fixtures


async def test_confirmation_is_answered_with_the_configured_string(svc: Running, vk: FakeVk):
    confirm = {"type": "confirmation", "group_id": GROUP}
    assert await vk.post(hook(svc), confirm, secret=None) == (200, CONFIRMATION)
    other = {"type": "confirmation", "group_id": GROUP + 1}
    status, _ = await vk.post(hook(svc), other, secret=None)
    assert status == 403


@pytest.mark.parametrize("secret", [None, "WrongSecret42", SECRET + "x"])
async def test_a_wrong_or_missing_secret_gets_403_and_stores_nothing(
    svc: Running, vk: FakeVk, secret: str | None
):
    status, body = await vk.post(hook(svc), vk.message_new(ALICE, "hi"), secret=secret)
    assert status == 403 and "secret" in body
    assert await tickets(svc.state.db) == []


async def test_message_opens_a_ticket_and_a_reply_reaches_the_customer(svc: Running, vk: FakeVk):
    db = svc.state.db
    ticket = await alice_ticket(vk, svc)
    assert ticket.subject == "Where is my order?" and ticket.customer.name == "Alice Smith"
    assert ticket.inbox.name == "vk"

    await svc.state.desk.reply(ticket.number, None, "It ships today")
    await svc.delivered()
    [sent] = vk.params_of("messages.send")
    assert sent["peer_ids"] == str(ALICE.id) and sent["message"] == "It ships today"
    *_, reply = await queries.messages(db, ticket.id)
    assert int(sent["random_id"]) == random_id(f"otklik-{reply.delivery.id}", 0)
    assert reply.delivery.status == Delivery.SENT
    assert [m.text for m in vk.sent_to(ALICE.id)] == ["It ships today"]


async def test_a_replayed_event_is_stored_once(svc: Running, vk: FakeVk):
    update = vk.message_new(ALICE, "hello")
    await delivered(vk, svc, update)
    await delivered(vk, svc, update)  # VK did not get our "ok" in time: the same event_id
    again = dict(update, event_id="another-event-id")  # the same message as a new event
    await delivered(vk, svc, again)
    [ticket] = await tickets(svc.state.db)
    assert len(await queries.messages(svc.state.db, ticket.id)) == 1
    assert len(vk.params_of("users.get")) == 1  # the name is asked once


async def test_a_lost_answer_is_retried_with_the_same_random_id_and_sent_once(
    svc: Running, vk: FakeVk
):
    ticket = await alice_ticket(vk, svc)
    vk.fail_next("messages.send", lose_answer=True)  # VK sends it, the answer is lost
    await svc.state.desk.reply(ticket.number, None, "On its way")
    await svc.delivered()
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.QUEUED and "VK" in reply.delivery.last_error
    await asyncio.sleep(RETRY_SECONDS)
    await svc.delivered()
    first, second = vk.params_of("messages.send")
    assert first["random_id"] == second["random_id"]
    assert [m.text for m in vk.sent_to(ALICE.id)] == ["On its way"]  # VK de-duplicated it
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2


async def test_long_texts_are_split_at_4096_characters(svc: Running, vk: FakeVk):
    ticket = await alice_ticket(vk, svc)
    await svc.state.desk.reply(ticket.number, None, ("word " * 1000).strip(), [Button("OK", "ok")])
    await svc.delivered()
    first, second = vk.params_of("messages.send")
    assert len(first["message"]) <= 4096 and "keyboard" not in first
    assert "keyboard" in second and first["random_id"] != second["random_id"]


def test_keyboards_keep_within_vk_limits():
    buttons = tuple(OutButton(f"id{i}", f"Choice {i} " + "x" * 50) for i in range(8))
    out = Outbound(1, 1, "vk", "1", "Choose", 1, buttons=buttons)
    [fitted] = adapt.parts(out, CAPABILITIES, "en")  # the core cuts the line, VK shows it
    built = keyboard(fitted.buttons)
    assert built is not None and built.inline
    board = json.loads(built.json)
    assert [len(row) for row in board["buttons"]] == [4, 4]  # at most 5 a line, cut evenly
    labels = [b["action"]["label"] for row in board["buttons"] for b in row]
    assert all(len(label) == 40 and label.endswith("…") for label in labels)
    assert keyboard([]) is None


def test_random_ids_are_stable_per_outbox_row_and_piece():
    assert random_id("otklik-7", 0) == random_id("otklik-7", 0)
    assert len({random_id("otklik-7", 0), random_id("otklik-7", 1), random_id("otklik-8", 0)}) == 3
    assert all(0 < random_id(f"otklik-{i}") < 2**31 for i in range(1000))


async def test_a_retry_after_a_partial_send_sends_only_the_parts_not_sent(svc: Running, vk: FakeVk):
    ticket = await alice_ticket(vk, svc)
    words = ("word " * 2000).strip()  # 9999 characters: 3 parts
    vk.fail_next("messages.send", 10, after=1)  # VK's server error on the second part
    await svc.state.desk.reply(ticket.number, None, words, [Button("OK", "ok")])
    await svc.delivered()
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.QUEUED and len(vk.sent_to(ALICE.id)) == 1
    await asyncio.sleep(RETRY_SECONDS + 0.1)
    await svc.delivered()
    sent = vk.sent_to(ALICE.id)
    assert [len(m.text) <= 4096 for m in sent] == [True] * 3
    assert " ".join(m.text for m in sent) == words
    assert [m.keyboard is not None for m in sent] == [False, False, True]
    first, *later = [p["random_id"] for p in vk.params_of("messages.send")]
    assert first not in later  # the first part was not sent again, not even for VK to drop
    *_, reply = await queries.messages(svc.state.db, ticket.id)
    assert reply.delivery.status == Delivery.SENT and reply.delivery.attempts == 2
