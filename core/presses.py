"""A customer pressed a button: accepted only from the chat the button was sent to."""

from __future__ import annotations

import logging

from sqlalchemy import select

from core import events
from core.errors import ButtonRefused
from core.inbound import Received, stored
from core.logctx import bind
from core.messages import Press
from core.models import Button, Direction, Identity, Message, Ticket
from core.work import Work, message_snapshot

log = logging.getLogger("otklik.core")


async def press(work: Work, pressed: Press) -> Received:
    """Record a button press by the customer it was sent to; refuse anything else."""
    inbox = await work.inboxes.named(work.session, pressed.inbox)
    bind(inbox=inbox.name)
    button = await work.session.get(Button, pressed.button_id)
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
    bind(ticket=ticket.number)
    # The first press of a message's buttons is the choice; a later one (the same button or
    # another of them) is recorded, but rules and adapters can tell it from the choice.
    earlier = await work.session.scalar(
        select(Button.id)
        .where(Button.message_id == button.message_id, Button.pressed_at.is_not(None))
        .limit(1)
    )
    first = earlier is None
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
