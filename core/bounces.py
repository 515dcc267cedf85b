"""Mail we sent that came back: a delivery report (a bounce) names it by the Message-ID we gave
it, and the message, sent as far as the sender knew, failed after all."""

from __future__ import annotations

import logging

from sqlalchemy import select

from core import events, outbox, reach
from core.i18n import text
from core.models import Delivery, Identity, Message, OutboxItem, Ticket
from core.work import Work

log = logging.getLogger("otklik.core")
QUOTED = 60  # characters of the returned message the note quotes


async def bounced(work: Work, inbox: str, platform_message_id: str, reason: str) -> int | None:
    """Fail the message ``inbox`` sent as ``platform_message_id``: ``reason`` becomes its error,
    a note tells the agents on its ticket, and the customer is not written to again until they
    write (as when the server refused them at once). Returns the ticket's number; None when no
    message of ours has that id, or it failed already (a report sent twice changes nothing)."""
    ref = await work.inboxes.named(work.session, inbox)
    item = await work.session.scalar(
        select(OutboxItem)
        .where(
            OutboxItem.inbox_id == ref.id,
            OutboxItem.platform_message_id == platform_message_id,
        )
        .with_for_update()
    )
    if item is None or item.status == Delivery.FAILED:
        return None
    item.status = Delivery.FAILED
    item.last_error = reason
    message = await work.session.get_one(Message, item.message_id)
    ticket = await work.session.get_one(Ticket, message.ticket_id)
    identity = await work.session.get_one(Identity, item.identity_id)
    start = " ".join(message.text.split())
    start = start if len(start) <= QUOTED else start[: QUOTED - 1] + "…"
    note = text(work.locale, "email.bounced_note", start=start, reason=reason)
    await outbox.system_note(work.session, message.id, note, work.now)
    await reach.unreachable(work, inbox, identity.external_id, reason)
    work.emit(
        events.DELIVERY_CHANGED,
        message_id=message.id,
        status=Delivery.FAILED,
        ticket_number=ticket.number,
        error=reason,
    )
    log.info("outbox %s came back undelivered: %s", item.id, reason)
    return ticket.number
