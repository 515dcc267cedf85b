"""Survey requests: a link sent to a ticket's customer, the form it opens, its one submission.

A survey whose only question is NPS is sent to a chat (the web widget, Telegram, VK, Viber) as
that question with buttons 0-10 instead (``survey:<value>``, in two rows as an NPS rating's):
a press of one of them (core/presses.py checks it comes from the ticket's chat) submits the
survey with that answer and thanks the customer. Email, where buttons are links, gets the link.

Promises:

- the link's random token is the authority: an unknown token is NotFound, and nothing else
  identifies the customer; a button is answered only from the chat it was sent to;
- the request keeps the survey as it was asked, so editing the file later changes no open form;
- answers are checked against their questions (kind, range, length, required ones present);
- a form sent (or a button pressed) after ``expires_at`` is refused (``SurveyExpired``) and
  changes nothing;
- a request is answered once: a second submission or press is refused (``SurveyAlreadySent``),
  so each sent survey counts once in reports;
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
from core.errors import ButtonRefused, InvalidInput, NotFound
from core.i18n import text as said
from core.messages import Button
from core.models import Button as ButtonRow
from core.models import SurveyAnswer, SurveyRequest, Ticket
from core.ratings import credited_agent
from core.scales import SCALES, Scale
from core.surveys.answers import Answer, check
from core.surveys.definitions import Kind, Question, Survey
from core.tickets import reply, ticket_for_update
from core.work import Work

PAYLOAD = "survey:"
# Where a survey of one NPS question is sent as buttons; elsewhere (email) as a link.
BUTTON_CHANNELS = frozenset({"webchat", "telegram", "vk", "viber"})
_NPS = SCALES[Scale.NPS]  # the same values and rows as an NPS rating's buttons


class SurveyClosed(InvalidInput):
    """The request takes no more answers; ``key`` names the text a chat's customer is told."""

    key: str


class SurveyExpired(SurveyClosed):
    key = "survey.press_expired"

    def __init__(self) -> None:
        super().__init__("this survey has expired")


class SurveyAlreadySent(SurveyClosed):
    key = "survey.already_sent"

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
    ticket's channel (a single NPS question in a chat: the question and its buttons); the
    assignee now is the agent the answers credit."""
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
    question = one_tap(survey)
    if question is not None and work.inboxes.of(ticket).channel in BUTTON_CHANNELS:
        low, high = said(work.locale, "survey.nps_low"), said(work.locale, "survey.nps_high")
        asking = f"{text}\n\n{question.says(work.locale)}\n{low}, {high}"
        buttons = [
            Button(str(value), f"{PAYLOAD}{value}", row=i // _NPS.per_row)
            for i, value in enumerate(_NPS.values)
        ]
        message = await reply(work, number, None, asking, buttons, origin)
    else:
        message = await reply(
            work, number, None, f"{text}\n{link(base_url, asked.token)}", (), origin
        )
    asked.message_id = message.id
    await work.session.flush()
    return asked


def one_tap(survey: Survey) -> Question | None:
    """The question of a survey that asks only NPS: a chat sends it as buttons."""
    [first, *others] = survey.questions
    return first if first.kind == Kind.NPS and not others else None


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
    _still_open(work, asked)
    await _store(work, asked, check(asked.questions["questions"], form))
    return asked


async def by_button(work: Work, button: ButtonRow) -> SurveyRequest | None:
    """The survey request whose message offered ``button`` (locked), if it is one's."""
    if not button.payload.startswith(PAYLOAD):
        return None
    return await work.session.scalar(
        select(SurveyRequest)
        .where(
            SurveyRequest.ticket_id == button.ticket_id,
            SurveyRequest.message_id == button.message_id,
        )
        .with_for_update()
    )


def refuse_if_closed(work: Work, asked: SurveyRequest) -> None:
    """Raise ButtonRefused, with the text for the customer, when ``asked`` takes no press."""
    try:
        _still_open(work, asked)
    except SurveyClosed as exc:
        raise ButtonRefused(str(exc), key=exc.key) from exc


async def answer_by_button(work: Work, asked: SurveyRequest, button: ButtonRow) -> None:
    """Submit ``asked`` with the value of ``button``, a press of its only question (checked
    open by ``refuse_if_closed``), and thank the customer in the ticket's chat."""
    [question] = asked.questions["questions"]
    value = button.payload.removeprefix(PAYLOAD)
    await _store(work, asked, check(asked.questions["questions"], {question["id"]: value}))
    ticket = await work.session.get(Ticket, asked.ticket_id)
    assert ticket is not None, "a request's ticket always exists"
    thanks = said(work.locale, "survey.thanks_press")
    await reply(work, ticket.number, None, thanks, (), f"survey:{asked.survey_id}")


def _still_open(work: Work, asked: SurveyRequest) -> None:
    if asked.submitted_at is not None:
        raise SurveyAlreadySent()
    if work.now >= asked.expires_at:
        raise SurveyExpired()


async def _store(work: Work, asked: SurveyRequest, answers: list[Answer]) -> None:
    """The answers, one row each, and ``survey.submitted``."""
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
