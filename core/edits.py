"""A customer edited a message: the new text replaces the old, which is kept in its history."""

from __future__ import annotations

import logging

from sqlalchemy import select

from core import events
from core.errors import NotFound
from core.logctx import bind
from core.messages import MAX_TEXT, Edit, clean_text
from core.models import Identity, Message, Ticket
from core.work import Work, message_snapshot

log = logging.getLogger("otklik.core")


async def edit(work: Work, change: Edit) -> Message:
    """Apply ``change`` to the stored message; a replayed edit (same text) changes nothing."""
    inbox = await work.inboxes.named(work.session, change.inbox)
    bind(inbox=inbox.name)
    message = await work.session.scalar(
        select(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .join(Identity, Identity.id == Ticket.identity_id)
        .where(
            Message.inbox_id == inbox.id,
            Message.platform_message_id == change.platform_message_id,
            Identity.external_id == change.external_id,
        )
    )
    if message is None:
        raise NotFound(f"no message {change.platform_message_id} from this chat to edit")
    text = clean_text(change.text)[:MAX_TEXT]
    if text == message.text:
        return message
    at = change.edited_at or work.now
    message.edits = [*message.edits, {"text": message.text, "until": at.isoformat()}]
    message.text = text
    message.edited_at = at
    ticket = await work.session.get(Ticket, message.ticket_id)
    assert ticket is not None
    bind(ticket=ticket.number)
    await work.session.flush()
    work.emit(events.MESSAGE_EDITED, ticket, message=message_snapshot(message))
    log.info("message %s edited", message.id)
    return message
