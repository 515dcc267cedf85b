"""A customer pressed a button: accepted only from the chat the button was sent to, or from a
link carrying the button's unguessable id (email, where buttons are links to a web page).

A rating request's button answers it (core/ratings.py); a survey's button (a survey of one
NPS question sent to a chat, core/surveys/requests.py) submits it; any other emits
``button.pressed``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import events, ratings
from core.channels import Capabilities
from core.errors import ButtonRefused, NotFound
from core.inbound import Received, stored
from core.inboxes import InboxRef
from core.logctx import bind
from core.messages import Press
from core.models import Button, Direction, Identity, Message, RatingRequest, Ticket
from core.ratings import RatingExpired
from core.surveys import requests as surveys
from core.work import Work, message_snapshot

log = logging.getLogger("otklik.core")
_UNKNOWN_LINK = "this link is not valid: no such button"
_BUTTON_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # what our ids (URL-safe tokens) can be


async def press(work: Work, pressed: Press) -> Received:
    """Record a button press by the customer it was sent to; refuse anything else."""
    inbox = await work.inboxes.named(work.session, pressed.inbox)
    bind(inbox=inbox.name)
    button = await _button(work.session, pressed.button_id)
    identity = await work.session.scalar(
        select(Identity).where(
            Identity.inbox_id == inbox.id, Identity.external_id == pressed.external_id
        )
    )
    if button is None:
        raise ButtonRefused("this button is unknown or no longer valid")
    if identity is None or button.identity_id != identity.id:
        raise ButtonRefused("this button was sent to another chat")
    event_key = f"press:{pressed.platform_event_id}" if pressed.platform_event_id else None
    if seen := await stored(work, inbox, event_key):
        return Received(seen.ticket_number, seen.message_id, duplicate=True)
    ticket = await work.session.get(Ticket, button.ticket_id)
    assert ticket is not None, "a button's ticket always exists"
    return await _record(work, inbox, ticket, button, event_key)


def chosen_before(got: Received, can: Capabilities) -> bool:
    """Whether a press gets the short answer ``press.chosen_before``: on a channel that cannot
    edit its message (``can.edits``) the buttons stay after the choice, so a later press of
    them (not the same press delivered again) is told the choice was made before."""
    return not can.edits and not got.duplicate and not got.first_press


async def _button(session: AsyncSession, button_id: str) -> Button | None:
    """The button of that id; None also for an id none of ours can have (a NUL in it made
    PostgreSQL fail the lookup, which answered 500 to the platform or the page)."""
    if not _BUTTON_ID.fullmatch(button_id):
        return None
    return await session.get(Button, button_id)


async def press_link(work: Work, button_id: str, allow_change: bool) -> Received:
    """A press by link: the button's id, unguessable, is the authority; the press counts in
    the chat (ticket and inbox) the button was sent to, as a press there would. With
    ``allow_change`` false (the public page's setting), a rating button's link changes no
    rating its request already has, as the page would not."""
    button = await _button(work.session, button_id)
    if button is None:
        raise NotFound(_UNKNOWN_LINK)
    if not allow_change and button.rating_request_id is not None:
        asked = await work.session.get(RatingRequest, button.rating_request_id)
        if asked is not None and asked.answered_at is not None:
            raise ButtonRefused("this rating is already given and cannot be changed", "rate.locked")
    ticket = await work.session.get(Ticket, button.ticket_id)
    assert ticket is not None, "a button's ticket always exists"
    inbox = work.inboxes.of(ticket)
    bind(inbox=inbox.name)
    return await _record(work, inbox, ticket, button, None)


@dataclass(frozen=True)
class Linked:
    """What a press link's page shows of its button."""

    label: str
    ticket_number: int
    rating_token: str | None  # a rating button's request: its page answers it
    rating_value: int | None


async def linked(session: AsyncSession, button_id: str) -> Linked:
    """The button a press link names; NotFound when there is none."""
    button = await _button(session, button_id)
    if button is None:
        raise NotFound(_UNKNOWN_LINK)
    number = await session.scalar(select(Ticket.number).where(Ticket.id == button.ticket_id))
    assert number is not None, "a button's ticket always exists"
    if button.rating_request_id is None:
        return Linked(button.label, number, None, None)
    asked = await session.get(RatingRequest, button.rating_request_id)
    assert asked is not None, "a rating button's request always exists"
    value = int(button.payload.removeprefix(ratings.PAYLOAD))
    return Linked(button.label, number, asked.token, value)


async def _record(
    work: Work, inbox: InboxRef, ticket: Ticket, button: Button, event_key: str | None
) -> Received:
    """The press as the customer's message on the button's ticket, then its effect: a rating
    button answers its request, a survey's submits it, any other emits ``button.pressed``."""
    bind(ticket=ticket.number)
    # The first press of a message's buttons is the choice; a later one (the same button or
    # another of them) is recorded, but rules and adapters can tell it from the choice.
    earlier = await work.session.scalar(
        select(Button.id)
        .where(Button.message_id == button.message_id, Button.pressed_at.is_not(None))
        .limit(1)
    )
    first = earlier is None
    asked = None
    if button.rating_request_id is not None:
        asked = await work.session.get(RatingRequest, button.rating_request_id)
        assert asked is not None, "a rating button's request always exists"
        if work.now >= asked.expires_at:
            raise RatingExpired()
    # A survey's buttons answer it once: a press after that, or after it expired, is refused.
    surveyed = await surveys.by_button(work, button)
    if surveyed is not None:
        surveys.refuse_if_closed(work, surveyed)
    button.pressed_at = button.pressed_at or work.now
    message = Message(
        ticket_id=ticket.id,
        inbox_id=inbox.id,
        direction=Direction.IN,
        text=button.label,
        platform_message_id=event_key,
        pressed_button_id=button.id,
        created_at=work.now,
    )
    work.session.add(message)
    await work.session.flush()
    if asked is not None:
        # A rating button answers its request, once: the first press of the request's buttons.
        if first:
            await ratings.answer(
                work, asked, int(button.payload.removeprefix(ratings.PAYLOAD)), inbox.channel
            )
        log.info("rating button %s pressed (first: %s)", button.id, first)
        return Received(ticket.number, message.id, first_press=first)
    if surveyed is not None:
        await surveys.answer_by_button(work, surveyed, button)
        log.info("survey button %s pressed: survey request %s answered", button.id, surveyed.id)
        return Received(ticket.number, message.id)
    work.emit(
        events.BUTTON_PRESSED,
        ticket,
        button={
            "id": button.id,
            "label": button.label,
            "payload": button.payload,
            "first_press": first,
            "message_id": button.message_id,
        },
        message=message_snapshot(message),
    )
    log.info("button %s pressed (payload %s)", button.id, button.payload)
    return Received(ticket.number, message.id, first_press=first)
