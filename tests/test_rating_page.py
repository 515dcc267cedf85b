"""The public rating page over HTTP: a GET records nothing, the confirm form's POST records,
then thanks and a comment; expired, locked, unknown and malformed answers change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp

from core.scales import Scale
from tests.rating_pages import asked, cookie_csrf, csrf_of, stored
from tests.service import Running, running, service_config


async def answer(http: aiohttp.ClientSession, token: str, **form: str) -> aiohttp.ClientResponse:
    """Open the page as a browser does, then post its confirm form with ``form``."""
    page = await (await http.get(f"/rate/{token}")).text()
    return await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), **form})


async def test_a_plain_get_of_a_rating_link_records_nothing(service: Running):
    number, token = await asked(service)
    async with aiohttp.ClientSession(service.url) as http:  # a mail scanner
        response = await http.get(f"/rate/{token}?v=1")
        page = await response.text()
    assert response.status == 200
    assert f"request #{number}" in page and 'name="viewport"' in page
    assert 'value="1" required checked' in page and "data-autosubmit" in page
    assert '<script src="/static/rate.js">' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert await stored(service.state.db) == []


async def test_the_confirm_form_records_the_rating_then_thanks(service: Running):
    _, token = await asked(service, Scale.FIVE)
    async with service.client() as http:
        page = await (await http.get(f"/rate/{token}")).text()
        for label in ("😡", "🙁", "😐", "🙂", "😍"):
            assert label in page
        assert "data-autosubmit" not in page  # no value in the link: the person chooses
        response = await answer(http, token, value="4")
        assert response.status == 200 and response.url.path == f"/rate/{token}"
        thanks = await response.text()
    assert "Thank you for your rating!" in thanks and 'data-value="4"' in thanks
    assert 'id="comment-form"' in thanks
    [rating] = await stored(service.state.db, token)
    assert rating.value == 4 and rating.via == "page" and rating.scale == "five"


async def test_a_rating_may_be_changed_by_default(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        await answer(http, token, value="1")
        response = await answer(http, token, value="0")
        assert response.status == 200
    [rating] = await stored(service.state.db, token)  # the same day: the last answer wins
    assert rating.value == 0


async def test_the_comment_is_stored_with_the_rating(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        thanks = await (await answer(http, token, value="0")).text()
        response = await http.post(
            f"/rate/{token}/comment", data={"csrf": csrf_of(thanks), "text": "Too slow <b>"}
        )
        page = await response.text()
    assert response.status == 200
    assert "Thank you for your comment!" in page and "Too slow &lt;b&gt;" in page
    [rating] = await stored(service.state.db, token)
    assert rating.comment == "Too slow <b>"


async def test_a_comment_too_long_is_refused_and_nothing_stored(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        thanks = await (await answer(http, token, value="1")).text()
        response = await http.post(
            f"/rate/{token}/comment", data={"csrf": csrf_of(thanks), "text": "x" * 2001}
        )
        page = await response.text()
    assert response.status == 400
    assert "could not be saved" in page and "longer than 2000 characters" in page
    [rating] = await stored(service.state.db, token)
    assert rating.comment is None


async def test_a_value_off_the_scale_is_refused_and_nothing_stored(service: Running):
    _, token = await asked(service)
    async with service.client() as http:
        for form in ({"value": "7"}, {"value": "good"}, {}):
            response = await answer(http, token, **form)
            assert response.status == 400, form
            assert "Please choose one of the ratings shown." in await response.text()
        link = await http.get(f"/rate/{token}?v=5")
        assert link.status == 400 and "data-autosubmit" not in await link.text()
    assert await stored(service.state.db) == []


async def test_an_expired_request_is_told_politely_and_records_nothing(service: Running):
    _, token = await asked(service, expires_in=timedelta(0))
    async with service.client() as http:
        response = await http.get(f"/rate/{token}?v=1")
        page = await response.text()
        assert response.status == 410
        assert "This request has expired" in page and "data-autosubmit" not in page
        assert 'id="rate-form"' not in page
        csrf = cookie_csrf(http, service.url)
        posted = await http.post(f"/rate/{token}", data={"csrf": csrf, "value": "1"})
        assert posted.status == 410 and "This request has expired" in await posted.text()
    assert await stored(service.state.db) == []


async def test_an_unknown_token_is_a_404_page(service: Running):
    async with service.client() as http:
        response = await http.get("/rate/no-such-token?v=1")
        page = await response.text()
        assert response.status == 404 and "This link is not valid" in page
        posted = await http.post("/rate/no-such-token", data={"csrf": "x", "value": "1"})
        assert posted.status == 403  # no form of ours: the security token does not match


async def test_a_form_without_its_security_token_records_nothing(service: Running):
    _, token = await asked(service)
    async with aiohttp.ClientSession(service.url) as http:
        response = await http.post(f"/rate/{token}", data={"value": "1"})
        assert response.status == 403
    assert await stored(service.state.db) == []


async def test_a_locked_rating_is_shown_read_only_and_a_change_refused(
    db, database_url: str, tmp_path: Path
):
    config = service_config(database_url, tmp_path, ratings={"public_page_allows_change": False})
    async with running(config) as service:
        _, token = await asked(service)
        async with service.client() as http:
            await answer(http, token, value="1")
            response = await http.get(f"/rate/{token}?v=0")
            page = await response.text()
            assert response.status == 200 and 'data-value="1"' in page
            assert "can no longer be changed" in page
            assert 'id="rate-form"' not in page and "data-autosubmit" not in page
            refused = await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), "value": "0"})
            assert refused.status == 409
            assert "can no longer be changed" in await refused.text()
        [rating] = await stored(service.state.db, token)
        assert rating.value == 1


async def test_the_page_speaks_the_configured_locale(db, database_url: str, tmp_path: Path):
    async with running(service_config(database_url, tmp_path, locale="ru")) as service:
        number, token = await asked(service)
        async with service.client() as http:
            page = await (await http.get(f"/rate/{token}")).text()
            assert '<html lang="ru">' in page
            assert f"Как мы справились с обращением №{number}?" in page
            assert "Отправить оценку" in page
            thanks = await (await answer(http, token, value="1")).text()
            assert "Спасибо за оценку!" in thanks
