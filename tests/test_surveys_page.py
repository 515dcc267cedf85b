"""The public survey form over HTTP: a GET records nothing; the form's POST sends the answers
once; refused answers come back with a message at their question; unknown, expired and
second submissions change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from core.clock import utcnow
from tests.rating_pages import cookie_csrf, csrf_of
from tests.service import Running, running, service_config
from tests.surveys import FULL, answers, asked


def form(page: str, values: dict[str, str]) -> dict[str, str]:
    return {"csrf": csrf_of(page), **{f"a.{k}": v for k, v in values.items()}}


async def send(http: aiohttp.ClientSession, token: str, values: dict[str, str]):
    """Open the form as a browser does, then send it with ``values``."""
    page = await (await http.get(f"/survey/{token}")).text()
    return await http.post(f"/survey/{token}", data=form(page, values))


async def test_a_plain_get_records_nothing_and_shows_every_question(service: Running):
    number, token = await asked(service)
    async with aiohttp.ClientSession(service.url) as http:  # a mail scanner, a link preview
        response = await http.get(f"/survey/{token}")
        page = await response.text()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert 'name="viewport"' in page and f"request #{number}" in page
    assert "How did we do?" in page
    assert page.count('type="radio" name="a.solved"') == 2
    assert page.count('type="radio" name="a.quality"') == 5
    assert page.count('type="radio" name="a.recommend"') == 11
    assert page.count("<textarea") == 2 and 'name="a.improve"' in page
    assert "How likely are you to recommend us" in page and "(optional)" in page
    assert await answers(service.state.db) == []


async def test_the_form_sends_the_answers_then_thanks_with_them(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        response = await send(http, token, FULL)
        assert response.status == 200 and response.url.path == f"/survey/{token}"
        thanks = await response.text()
    assert "Thank you!" in thanks and 'id="survey-form"' not in thanks
    assert '<dd data-question="solved">Yes</dd>' in thanks
    assert '<dd data-question="recommend">9</dd>' in thanks
    assert '<dd data-question="other">no answer</dd>' in thanks
    stored = await answers(service.state.db)
    assert [(a.question_id, a.value, a.text) for a in stored] == [
        ("solved", 1, None),
        ("quality", 4, None),
        ("recommend", 9, None),
        ("improve", None, "Answer faster"),
    ]


async def test_refused_answers_come_back_with_their_messages_and_what_was_entered(
    service: Running,
):
    _, token = await asked(service)
    async with service.client() as http:
        response = await send(
            http, token, {"solved": "", "quality": "7", "recommend": "10", "other": "x" * 2001}
        )
        page = await response.text()
    assert response.status == 400
    assert "Please check the answers marked below." in page
    assert '<p class="error" id="flaw-solved">Please answer this question.</p>' in page
    assert "Please choose a number from 1 to 5." in page
    assert "Please keep it under 2000 characters." in page
    assert 'name="a.recommend" value="10" required checked' in page  # kept for the next try
    assert 'id="flaw-recommend"' not in page
    assert await answers(service.state.db) == []


async def test_a_second_sending_is_refused_and_changes_nothing(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        page = await (await http.get(f"/survey/{token}")).text()
        await http.post(f"/survey/{token}", data=form(page, FULL))
        again = await http.post(f"/survey/{token}", data=form(page, {**FULL, "recommend": "0"}))
        text = await again.text()
    assert again.status == 409
    assert "This survey has already been answered" in text
    assert [a.value for a in await answers(service.state.db) if a.kind == "nps"] == [9]


async def test_unknown_tokens_are_404_and_a_form_without_csrf_is_refused(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        response = await http.get("/survey/not-a-token")
        assert response.status == 404
        assert "We could not find the survey" in await response.text()
        csrf = cookie_csrf(http, service.url)
        posted = await http.post("/survey/forged", data={"csrf": csrf, "a.solved": "yes"})
        assert posted.status == 404
        bare = await http.post(f"/survey/{token}", data={f"a.{k}": v for k, v in FULL.items()})
        assert bare.status == 403
    assert await answers(service.state.db) == []


async def test_an_expired_survey_is_a_polite_page_and_takes_nothing(
    database_url: str, tmp_path: Path
):
    later = timedelta()  # how far the service's clock is ahead of the real one

    def clock() -> datetime:
        return utcnow() + later

    async with running(service_config(database_url, tmp_path), clock=clock) as service:
        _, token = await asked(service, expires_in=timedelta(hours=1))
        async with service.client() as http:
            page = await (await http.get(f"/survey/{token}")).text()
            later = timedelta(hours=2)  # the customer sends the form two hours later
            posted = await http.post(f"/survey/{token}", data=form(page, FULL))
            assert posted.status == 410
            assert "This survey has expired" in await posted.text()
            shown = await http.get(f"/survey/{token}")
            assert shown.status == 410 and 'id="survey-form"' not in await shown.text()
        assert await answers(service.state.db) == []


async def test_the_form_speaks_russian(database_url: str, tmp_path: Path):
    async with running(service_config(database_url, tmp_path, locale="ru")) as service:
        number, token = await asked(service)
        async with service.client() as http:
            page = await (await http.get(f"/survey/{token}")).text()
            assert "Как мы справились?" in page and f"О вашем обращении №{number}" in page
            assert "Насколько вероятно, что вы порекомендуете нас" in page
            assert "Отправить ответы" in page
            refused = await http.post(f"/survey/{token}", data=form(page, {}))
            assert "Пожалуйста, ответьте на этот вопрос." in await refused.text()
