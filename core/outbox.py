"""The outbox: outgoing messages as rows, queued in the transaction that caused them.

A row moves queued → sending (claimed with a lease) → sent | queued again (retry, later)
| failed. A sender that dies while holding a lease loses its claim when the lease runs out,
and another sender takes the row: nothing committed is ever lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.messages import Outbound, OutButton
from core.models import (
    Delivery,
    Direction,
    Identity,
    Inbox,
    Message,
    OutboxItem,
    RatingRequest,
    Ticket,
)
from core.work import Work


def queue(work: Work, message: Message, ticket: Ticket, via: Identity | None = None) -> OutboxItem:
    """Queue ``message`` to the ticket's customer where they wrote from, or ``via`` another of
    their identities (an email to someone who wrote in a messenger)."""
    item = OutboxItem(
        inbox_id=via.inbox_id if via else ticket.inbox_id,
        identity_id=via.id if via else ticket.identity_id,
        status=Delivery.QUEUED,
        next_attempt_at=work.now,
        created_at=work.now,
    )
    message.delivery = item
    work.outbox_queued = True
    return item


async def claim(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> Sequence[int]:
    """Take up to ``limit`` due rows for this sender; SKIP LOCKED keeps senders apart."""
    due = (
        select(OutboxItem.id)
        .where(
            or_(
                (OutboxItem.status == Delivery.QUEUED) & (OutboxItem.next_attempt_at <= now),
                (OutboxItem.status == Delivery.SENDING) & (OutboxItem.claimed_until < now),
            )
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.scalars(due)).all())
    if ids:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids))
            .values(
                status=Delivery.SENDING,
                claimed_until=now + lease,
                attempts=OutboxItem.attempts + 1,
            )
        )
    return ids


@dataclass(frozen=True)
class Claimed:
    item: OutboxItem
    outbound: Outbound
    channel: str
    unreachable: str | None = None  # why the platform said the customer cannot be messaged


async def load(session: AsyncSession, item_id: int) -> Claimed:
    row = (
        await session.execute(
            select(
                OutboxItem,
                Message,
                Ticket.number,
                Ticket.subject,
                Inbox,
                Identity.external_id,
                Identity.unreachable_reason,
            )
            .join(Message, Message.id == OutboxItem.message_id)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .join(Inbox, Inbox.id == OutboxItem.inbox_id)
            .join(Identity, Identity.id == OutboxItem.identity_id)
            .where(OutboxItem.id == item_id)
        )
    ).one()
    item, message, number, ticket_subject, inbox, external_id, unreachable = row
    thread = await _thread(session, message) if inbox.channel == "email" else _NO_THREAD
    outbound = Outbound(
        outbox_id=item.id,
        message_id=message.id,
        inbox=inbox.name,
        external_id=external_id,
        text=message.text,
        subject=message.subject,
        ticket_number=number,
        buttons=tuple(OutButton(b.id, b.label, b.row) for b in message.buttons),
        attachments=tuple(message.attachments),
        author_name=message.author.name if message.author else None,
        ticket_subject=ticket_subject,
        references=thread.references,
        in_reply_to=thread.in_reply_to,
        page=await _rating_page(session, message),
    )
    return Claimed(item, outbound, inbox.channel, unreachable)


async def _rating_page(session: AsyncSession, message: Message) -> str | None:
    """The public page answering the rating request the message carries, if it does."""
    if not any(b.rating_request_id for b in message.buttons):
        return None
    token = await session.scalar(
        select(RatingRequest.token).where(RatingRequest.message_id == message.id)
    )
    return f"/rate/{token}" if token else None


@dataclass(frozen=True)
class _Thread:
    references: tuple[str, ...] = ()
    in_reply_to: str | None = None


_NO_THREAD = _Thread()
_THREAD_LENGTH = 20  # the newest ids are enough for any mail client to thread


async def _thread(session: AsyncSession, message: Message) -> _Thread:
    """The platform ids of the ticket's earlier mail in this inbox, the customer's and ours:
    the References of an email, the customer's last one its In-Reply-To."""
    rows = (
        await session.execute(
            select(
                Message.direction,
                func.coalesce(Message.platform_message_id, OutboxItem.platform_message_id),
            )
            .outerjoin(OutboxItem, OutboxItem.message_id == Message.id)
            .where(
                Message.ticket_id == message.ticket_id,
                Message.inbox_id == message.inbox_id,
                Message.id < message.id,
                Message.internal.is_(False),
                or_(
                    Message.platform_message_id.is_not(None),
                    OutboxItem.platform_message_id.is_not(None),
                ),
            )
            .order_by(Message.id.desc())
            .limit(_THREAD_LENGTH)
        )
    ).all()
    ids = tuple(reversed([platform_id for _, platform_id in rows]))
    customers = (platform_id for direction, platform_id in rows if direction == Direction.IN)
    return _Thread(ids, next(customers, None))


async def system_note(session: AsyncSession, message_id: int, text: str, now: datetime) -> None:
    """An internal note from Otklik itself on the ticket of ``message_id``."""
    ticket_id = select(Message.ticket_id).where(Message.id == message_id).scalar_subquery()
    inbox_id = select(Message.inbox_id).where(Message.id == message_id).scalar_subquery()
    await session.execute(
        insert(Message).values(
            ticket_id=ticket_id,
            inbox_id=inbox_id,
            direction=Direction.OUT,
            internal=True,
            text=text,
            attachments=[],
            edits=[],
            created_at=now,
        )
    )
