"""The public survey form, /survey/<token>: the link's random token is the authority, no sign-in.

A GET records nothing (mail scanners and link previews fetch links); the form's POST sends the
answers once. Refused answers come back in the form with a message at each question (400);
after sending, the page thanks and shows the answers. An unknown token is 404, an expired
survey a polite 410 page, a second submission 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from core.errors import NotFound
from core.i18n import text
from core.surveys.answers import MAX_ANSWER, AnswersInvalid, Flawed
from core.surveys.definitions import VALUES, Kind, in_locale
from core.surveys.requests import Page, SurveyAlreadySent, SurveyExpired
from web.pages import redirect
from web.public import public_page
from web.state import STATE

FIELD = "a."  # a question's form field is "a.<question id>", apart from the page's own (csrf)


async def show(request: web.Request) -> web.Response:
    try:
        page = await _page(request)
    except NotFound:
        return await _not_found(request)
    return await _render(request, page)


async def submit(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        page = await _page(request)
    except NotFound:
        return await _not_found(request)
    given = {k.removeprefix(FIELD): v for k, v in form.items() if k.startswith(FIELD)}
    answers = {k: v for k, v in given.items() if isinstance(v, str)}
    try:
        await request.app[STATE].desk.submit_survey(page.token, answers)
    except SurveyAlreadySent:
        return await _render(request, page, status=409, error="survey.already_sent")
    except SurveyExpired:  # it expired since the page was read
        return await _render(request, page, expired=True)
    except AnswersInvalid as exc:
        return await _render(request, page, status=400, flaws=exc.flaws, draft=answers)
    return redirect(f"/survey/{page.token}")


async def _page(request: web.Request) -> Page:
    return await request.app[STATE].desk.survey_page(request.match_info["token"])


async def _not_found(request: web.Request) -> web.Response:
    title, key = "survey.not_found_title", "survey.not_found"
    return await public_page(request, "public_message.html", status=404, title=title, key=key)


async def _render(
    request: web.Request,
    page: Page,
    *,
    status: int = 200,
    expired: bool = False,
    error: str | None = None,
    flaws: Mapping[str, Flawed] | None = None,
    draft: Mapping[str, str] | None = None,
) -> web.Response:
    """The page in its state: sent (thanks and the answers), expired, or the form (with what
    the customer entered and why it was refused)."""
    locale = request.app[STATE].locale
    expired = expired or (page.expired and page.submitted_at is None)
    questions = [_question(q, locale) for q in page.questions]
    for question in questions:
        value = page.answers.get(question["id"])
        question["answer"] = _shown(Kind(question["kind"]), value, locale)
    return await public_page(
        request,
        "survey.html",
        status=410 if expired else status,
        page=page,
        title=in_locale(page.title, locale),
        questions=questions,
        expired=expired,
        error=error,
        flaws=flaws or {},
        draft=draft if draft is not None else {},
        field=FIELD,
        limit=MAX_ANSWER,
    )


def _question(question: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """A stored question as the template lays it out: its text and its choices."""
    kind = Kind(question["kind"])
    choices: list[tuple[str, str]] = []
    if kind is Kind.YES_NO:
        choices = [("yes", "survey.yes"), ("no", "survey.no")]
    elif kind in VALUES:
        choices = [(str(v), "") for v in VALUES[kind]]
    return {
        "id": question["id"],
        "kind": kind.value,
        "text": in_locale(question["text"], locale),
        "required": bool(question.get("required")),
        "choices": choices,
    }


def _shown(kind: Kind, value: int | str | None, locale: str) -> str:
    """A stored answer as the thanks page shows it."""
    if value is None:
        return text(locale, "survey.no_answer")
    if kind is Kind.YES_NO:
        return text(locale, "survey.yes" if value == 1 else "survey.no")
    return str(value)


def setup(app: web.Application) -> None:
    # Tokens are URL-safe: any other path is no page (a NUL in one failed PostgreSQL's lookup).
    app.add_routes(
        [
            web.get("/survey/{token:[A-Za-z0-9_-]+}", show),
            web.post("/survey/{token:[A-Za-z0-9_-]+}", submit),
        ]
    )
