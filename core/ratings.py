"""Ratings: asking a ticket's customer how we did, and keeping their answers.

A request is a reply whose buttons answer it (``rating:<value>``), plus a token for the public
page that answers it from an email. Its promises (DESIGN.md, "Ratings"):

- an answer after ``expires_at`` changes nothing and is told so (``RatingExpired``);
- a request belongs to its ticket's chat: the press checks (core/presses.py) refuse any other;
- one rating per ticket and day in the service's time zone: a later answer that day replaces
  it, an answer on another day is kept beside it;
- a request's buttons answer once: the first press of them; later presses change nothing;
- after a rule asks for a comment (``ask_comment``), the customer's next message in that chat,
  within the window, is the rating's comment and neither reopens nor opens a ticket.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import ButtonRefused, InvalidInput, NotFound
from core.messages import Button, clean_text
from core.models import Agent, Identity, Message, Rating, RatingRequest, Ticket
from core.models import Button as ButtonRow
from core.scales import SCALES, Scale
from core.tickets import reply, ticket_for_update
from core.work import Work

PAYLOAD = "rating:"
MAX_COMMENT = 2000


class RatingExpired(ButtonRefused):
    def __init__(self) -> None:
        super().__init__("this rating request has expired", key="rating.expired")


class RatingLocked(InvalidInput):
    """The page may not change a rating once given (``ratings.public_page_allows_change``)."""


async def request(
    work: Work,
    number: int,
    scale: Scale,
    expires_in: timedelta,
    text: str,
    labels: Sequence[str] | None,
    origin: str,
) -> RatingRequest:
    """Ask the ticket's customer for a rating in the ticket's chat; the assignee now is the
    agent the answer credits."""
    spec = SCALES[scale]
    labels = tuple(labels) if labels else spec.labels
    if len(labels) != len(spec.values):
        raise InvalidInput(f"a {scale} rating needs {len(spec.values)} labels, got {len(labels)}")
    ticket = await ticket_for_update(work, number)
    asked = RatingRequest(
        token=secrets.token_urlsafe(16),
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        identity_id=ticket.identity_id,
        inbox_id=ticket.inbox_id,
        agent_id=ticket.assignee_id,
        scale=scale,
        origin=origin,
        created_at=work.now,
        expires_at=work.now + expires_in,
    )
    work.session.add(asked)
    await work.session.flush()
    buttons = [
        Button(label, f"{PAYLOAD}{value}", row=i // spec.per_row)
        for i, (value, label) in enumerate(zip(spec.values, labels, strict=True))
    ]
    message = await reply(work, number, None, text, buttons, origin)
    asked.message_id = message.id
    for button in message.buttons:
        button.rating_request_id = asked.id
    await work.session.flush()
    work.emit(
        events.RATING_REQUESTED,
        ticket,
        rating={"request_id": asked.id, "scale": scale, "expires_at": asked.expires_at.isoformat()},
        agent=await credited_agent(work, asked.agent_id),
        origin=origin,
    )
    return asked


async def by_token(work: Work, token: str) -> RatingRequest:
    """The request a public page link names; an unknown token is NotFound."""
    asked = await work.session.scalar(select(RatingRequest).where(RatingRequest.token == token))
    if asked is None:
        raise NotFound("this rating link is not valid")
    return asked


@dataclass(frozen=True)
class Page:
    """What the public page shows of a request."""

    token: str
    ticket_number: int
    scale: Scale
    choices: tuple[tuple[int, str], ...]  # (value, label), as the buttons showed them
    expires_at: datetime
    expired: bool
    value: int | None  # the rating given in answer, if any
    comment: str | None


async def page(session: AsyncSession, token: str, now: datetime) -> Page:
    asked = await session.scalar(select(RatingRequest).where(RatingRequest.token == token))
    if asked is None:
        raise NotFound("this rating link is not valid")
    number = await session.scalar(select(Ticket.number).where(Ticket.id == asked.ticket_id))
    spec = SCALES[Scale(asked.scale)]
    labels = dict(zip(spec.values, spec.labels, strict=True))
    shown = await session.execute(
        select(ButtonRow.payload, ButtonRow.label).where(ButtonRow.rating_request_id == asked.id)
    )
    for payload, label in shown:
        labels[int(payload.removeprefix(PAYLOAD))] = label
    rating = await session.scalar(_latest(Rating.request_id == asked.id))
    return Page(
        token=token,
        ticket_number=number or 0,
        scale=Scale(asked.scale),
        choices=tuple((v, labels[v]) for v in spec.values),
        expires_at=asked.expires_at,
        expired=now >= asked.expires_at,
        value=rating.value if rating else None,
        comment=rating.comment if rating else None,
    )


def _latest(where: Any) -> Any:
    return select(Rating).where(where).order_by(Rating.given_at.desc(), Rating.id.desc()).limit(1)


async def answer(work: Work, asked: RatingRequest, value: int, via: str) -> Rating:
    """Record ``value`` as the answer to ``asked`` (see the module's promises)."""
    spec = SCALES[Scale(asked.scale)]
    spec.check(value)
    if work.now >= asked.expires_at:
        raise RatingExpired()
    ticket = await work.session.scalar(
        select(Ticket).where(Ticket.id == asked.ticket_id).with_for_update(of=Ticket)
    )
    assert ticket is not None, "a request's ticket always exists"
    day = work.now.astimezone(work.zone).date().isoformat()
    rating = await work.session.scalar(
        select(Rating).where(Rating.ticket_id == ticket.id, Rating.day == day)
    )
    replaced = rating is not None
    if rating is None:
        rating = Rating(ticket_id=ticket.id, customer_id=asked.customer_id, day=day)
        work.session.add(rating)
    rating.request_id = asked.id
    rating.inbox_id = asked.inbox_id
    rating.agent_id = asked.agent_id
    rating.scale = asked.scale
    rating.value = value
    rating.score = spec.score(value)
    rating.bucket = spec.bucket(value)
    rating.via = via
    rating.given_at = work.now
    asked.answered_at = asked.answered_at or work.now
    await work.session.flush()
    work.emit(
        events.RATING_RECEIVED,
        ticket,
        rating={**snapshot(rating), "replaced": replaced},
        agent=await credited_agent(work, rating.agent_id),
    )
    return rating


async def answer_on_page(work: Work, token: str, value: int, allow_change: bool) -> Rating:
    """The public page's answer; with ``allow_change`` false a given answer stays."""
    asked = await by_token(work, token)
    if not allow_change and asked.answered_at is not None:
        raise RatingLocked("this rating is already given and can no longer be changed")
    return await answer(work, asked, value, via="page")


async def given(work: Work, asked: RatingRequest) -> Rating | None:
    """The latest rating given in answer to ``asked``, if any."""
    return await work.session.scalar(_latest(Rating.request_id == asked.id))


async def comment_on_page(work: Work, token: str, text: str) -> Rating:
    """The public page's comment on the rating its request received."""
    asked = await by_token(work, token)
    if work.now >= asked.expires_at:
        raise RatingExpired()
    rating = await given(work, asked)
    if rating is None:
        raise InvalidInput("choose a rating before writing a comment")
    return await _comment(work, rating, _checked(text))


async def ask_comment(work: Work, ticket_id: int, within: timedelta) -> Rating | None:
    """Take the customer's next message in the ticket's chat, until ``within`` from now, as
    the comment of the ticket's latest rating; None (and nothing awaited): it has none."""
    rating = await work.session.scalar(_latest(Rating.ticket_id == ticket_id))
    if rating is None:
        return None
    ticket = await work.session.get(Ticket, ticket_id)
    assert ticket is not None
    await work.session.execute(
        update(Identity)
        .where(Identity.id == ticket.identity_id)
        .values(comment_rating_id=rating.id, comment_until=work.now + within)
    )
    return rating


def awaited(comment_rating_id: int | None, comment_until: datetime | None, now: datetime) -> bool:
    """Whether an identity's next message is a rating's comment."""
    return comment_rating_id is not None and comment_until is not None and now < comment_until


async def take_comment(work: Work, identity_id: int, rating_id: int) -> tuple[Rating, Ticket]:
    """The awaited comment is arriving: stop awaiting it; the rating and its ticket, where
    the customer's message is stored as it is (no reopening, no new ticket)."""
    await work.session.execute(
        update(Identity)
        .where(Identity.id == identity_id)
        .values(comment_rating_id=None, comment_until=None)
    )
    rating = await work.session.get(Rating, rating_id)
    if rating is None:
        raise NotFound(f"rating {rating_id} does not exist")
    ticket = await work.session.get(Ticket, rating.ticket_id)
    assert ticket is not None, "a rating's ticket always exists"
    return rating, ticket


async def comment_from_chat(work: Work, rating: Rating, ticket: Ticket, message: Message) -> None:
    """The customer's message (stored on ``ticket``) becomes the rating's comment; a message
    of attachments only is named by their kinds."""
    kinds = ", ".join(str(a.get("kind", "file")) for a in message.attachments)
    text = message.text.strip() or f"({kinds})"
    await _comment(work, rating, text[:MAX_COMMENT], ticket)


async def _comment(work: Work, rating: Rating, text: str, ticket: Ticket | None = None) -> Rating:
    rating.comment = text
    rating.commented_at = work.now
    await work.session.flush()
    ticket = ticket or await work.session.get(Ticket, rating.ticket_id)
    assert ticket is not None
    work.emit(
        events.RATING_COMMENTED,
        ticket,
        rating=snapshot(rating),
        agent=await credited_agent(work, rating.agent_id),
    )
    return rating


def _checked(text: str) -> str:
    text = clean_text(text).strip()
    if not text:
        raise InvalidInput("the comment is empty")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    return text


def snapshot(rating: Rating) -> dict[str, Any]:
    return {
        "id": rating.id,
        "value": rating.value,
        "score": rating.score,
        "scale": rating.scale,
        "bucket": rating.bucket,
        "via": rating.via,
        "comment": rating.comment,
        "given_at": rating.given_at.isoformat(),
    }


async def credited_agent(work: Work, agent_id: int | None) -> dict[str, Any] | None:
    """The agent an answer credits (a rating's or a survey's), as events tell it; None: the
    request credited nobody, or that agent's row is gone."""
    if agent_id is None:
        return None
    agent = await work.session.get(Agent, agent_id)
    return None if agent is None else {"id": agent.id, "name": agent.name, "role": agent.role}
