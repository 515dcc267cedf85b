"""Press links (/press/<button id>), the way email sends buttons: a GET shows the choice and
records nothing; the confirm form presses the button as a press in the chat would."""

from __future__ import annotations

from datetime import timedelta

from core import queries
from core.messages import Button
from core.models import Message
from core.scales import Scale
from tests.rating_pages import asked, cookie_csrf, csrf_of, stored
from tests.service import Running


async def offered(service: Running) -> tuple[int, list[str]]:
    """A customer's ticket and a reply with two buttons: (ticket number, button ids)."""
    number, _ = await asked(service)
    buttons = [Button("Yes", "got:yes"), Button("No", "got:no")]
    message = await service.state.desk.reply(number, None, "Did it arrive?", buttons)
    return number, [b.id for b in message.buttons]


async def pressed(service: Running, number: int) -> list[Message]:
    ticket = await queries.ticket(service.state.db, number)
    return [m for m in await queries.messages(service.state.db, ticket.id) if m.pressed_button_id]


async def test_a_press_link_shows_the_choice_and_records_nothing(service: Running):
    number, (yes, _) = await offered(service)
    async with service.client() as http:
        response = await http.get(f"/press/{yes}")
        page = await response.text()
    assert response.status == 200 and f"request #{number}" in page
    assert 'id="press-label">Yes<' in page and 'id="press-confirm"' in page
    assert await pressed(service, number) == []


async def test_confirming_presses_the_button_as_in_the_chat(service: Running):
    number, (_, no) = await offered(service)
    async with service.client() as http:
        page = await (await http.get(f"/press/{no}")).text()
        response = await http.post(f"/press/{no}", data={"csrf": csrf_of(page)})
        thanks = await response.text()
    assert response.status == 200 and "Thank you! Your choice was sent." in thanks
    [message] = await pressed(service, number)
    assert message.text == "No" and message.pressed_button_id == no
    assert message.direction == "in"


async def test_an_unknown_press_link_is_a_404_page(service: Running):
    async with service.client() as http:
        response = await http.get("/press/no-such-button")
        assert response.status == 404 and "This link is not valid" in await response.text()


async def test_a_rating_buttons_link_leads_to_the_rating_page(service: Running):
    number, token = await asked(service)
    ticket = await queries.ticket(service.state.db, number)
    [*_, request] = await queries.messages(service.state.db, ticket.id)
    thumbs_up = request.buttons[0]
    async with service.client() as http:
        response = await http.get(f"/press/{thumbs_up.id}", allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == f"/rate/{token}?v=1"
        page = await (await http.get(f"/press/{thumbs_up.id}")).text()
        assert "data-autosubmit" in page  # the rating page, value chosen
        posted = await http.post(f"/press/{thumbs_up.id}", data={"csrf": csrf_of(page)})
        assert posted.status == 200 and "Thank you for your rating!" in await posted.text()
    [rating] = await stored(service.state.db, token)
    assert rating.value == 1


async def test_an_expired_rating_buttons_press_is_refused_with_a_clear_page(service: Running):
    number, _ = await asked(service, Scale.BINARY, expires_in=timedelta(0))
    ticket = await queries.ticket(service.state.db, number)
    [*_, request] = await queries.messages(service.state.db, ticket.id)
    button = request.buttons[1]
    async with service.client() as http:
        page = await (await http.get(f"/press/{button.id}")).text()
        assert "This request has expired" in page
        csrf = cookie_csrf(http, service.url)
        response = await http.post(f"/press/{button.id}", data={"csrf": csrf})
        refused = await response.text()
    assert response.status == 403
    assert "This choice could not be sent." in refused and "has expired" in refused
    assert await pressed(service, number) == [] and await stored(service.state.db) == []
