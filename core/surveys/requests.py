"""Survey requests: a link sent to a ticket's customer, the form it opens, its one submission.

Promises:

- the link's random token is the authority: an unknown token is NotFound, and nothing else
  identifies the customer;
- the request keeps the survey as it was asked, so editing the file later changes no open form;
- answers are checked against their questions (kind, range, length, required ones present);
- a form sent after ``expires_at`` is refused (``SurveyExpired``) and changes nothing;
- a request is answered once: a second submission is refused (``SurveyAlreadySent``), so each
  sent survey counts once in reports;
- the answers are stored one row per answered question (``survey_answers``: an NPS answer is
  ``value`` where ``kind = 'nps'``) and emitted as ``survey.submitted``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import events
from core.errors import InvalidInput, NotFound
from core.models import SurveyAnswer, SurveyRequest, Ticket
from core.ratings import credited_agent
from core.surveys.answers import Answer, check
from core.surveys.definitions import Kind, Survey
from core.tickets import reply, ticket_for_update
from core.work import Work


class SurveyExpired(InvalidInput):
    def __init__(self) -> None:
        super().__init__("this survey has expired")


class SurveyAlreadySent(InvalidInput):
    def __init__(self) -> None:
        super().__init__("this survey has already been answered; answers cannot be changed")


def link(base_url: str, token: str) -> str:
    """The full address of a request's form, ``base_url`` being the service's public one."""
    return f"{base_url.rstrip('/')}/survey/{token}"


async def request(
    work: Work,
    number: int,
    survey: Survey,
    expires_in: timedelta,
    text: str,
    base_url: str,
    origin: str,
) -> SurveyRequest:
    """Send the ticket's customer ``text`` followed by the link to ``survey``'s form, in the
    ticket's channel; the assignee now is the agent the answers credit."""
    ticket = await ticket_for_update(work, number)
    asked = SurveyRequest(
        token=secrets.token_urlsafe(16),
        survey_id=survey.id,
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        inbox_id=ticket.inbox_id,
        agent_id=ticket.assignee_id,
        origin=origin,
        questions=survey.stored(),
        created_at=work.now,
        expires_at=work.now + expires_in,
    )
    work.session.add(asked)
    await work.session.flush()
    message = await reply(work, number, None, f"{text}\n{link(base_url, asked.token)}", (), origin)
    asked.message_id = message.id
    await work.session.flush()
    return asked


@dataclass(frozen=True)
class Page:
    """What the public form shows of a request."""

    token: str
    ticket_number: int
    title: dict[str, str]
    questions: list[dict[str, Any]]  # as asked: id, kind, text by locale, required
    expired: bool
    submitted_at: datetime | None
    answers: dict[str, int | str | None]  # by question id, once submitted


async def page(session: AsyncSession, token: str, now: datetime) -> Page:
    asked = await _by_token(session, token)
    number = await session.scalar(select(Ticket.number).where(Ticket.id == asked.ticket_id))
    rows = await session.scalars(select(SurveyAnswer).where(SurveyAnswer.request_id == asked.id))
    return Page(
        token=token,
        ticket_number=number or 0,
        title=asked.questions["title"],
        questions=asked.questions["questions"],
        expired=now >= asked.expires_at,
        submitted_at=asked.submitted_at,
        answers={a.question_id: a.text if a.kind == Kind.TEXT else a.value for a in rows},
    )


async def submit(work: Work, token: str, form: dict[str, str]) -> SurveyRequest:
    """The customer's answers from the public form (see the module's promises)."""
    asked = await _by_token(work.session, token, lock=True)
    if asked.submitted_at is not None:
        raise SurveyAlreadySent()
    if work.now >= asked.expires_at:
        raise SurveyExpired()
    answers = check(asked.questions["questions"], form)
    for answer in answers:
        work.session.add(
            SurveyAnswer(
                request_id=asked.id,
                question_id=answer.question_id,
                kind=answer.kind,
                value=answer.value,
                text=answer.text,
            )
        )
    asked.submitted_at = work.now
    await work.session.flush()
    ticket = await work.session.get(Ticket, asked.ticket_id)
    assert ticket is not None, "a request's ticket always exists"
    work.emit(
        events.SURVEY_SUBMITTED,
        ticket,
        survey=snapshot(asked, answers),
        agent=await credited_agent(work, asked.agent_id),
    )
    return asked


def snapshot(asked: SurveyRequest, answers: list[Answer]) -> dict[str, Any]:
    nps = next((a.value for a in answers if a.kind is Kind.NPS), None)
    return {
        "id": asked.survey_id,
        "request_id": asked.id,
        "answers": {a.question_id: a.given for a in answers},
        "answered": [a.question_id for a in answers],
        "nps": nps,
        "nps_group": _group(nps),
        "submitted_at": asked.submitted_at.isoformat() if asked.submitted_at else None,
    }


def _group(nps: int | None) -> str | None:
    if nps is None:
        return None
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


async def _by_token(session: AsyncSession, token: str, lock: bool = False) -> SurveyRequest:
    query = select(SurveyRequest).where(SurveyRequest.token == token)
    asked = await session.scalar(query.with_for_update() if lock else query)
    if asked is None:
        raise NotFound("this survey link is not valid")
    return asked
