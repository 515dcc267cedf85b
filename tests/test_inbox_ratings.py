"""Ratings for agents: the ticket page shows them read only and sends a rating request again;
the API lists them and refuses every change, whatever the role."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from core import queries
from core.models import RatingRequest, Role
from core.scales import Scale
from tests.people import make_agent
from tests.rating_pages import asked, stored
from tests.service import Running
from tests.test_inbox_web import signed_in


async def rated(service: Running, login: str = "anna") -> tuple[int, str]:
    """A ticket assigned to ``login``, rated 👎 on the page with a comment."""
    agent = await make_agent(service.state.db, login)
    number, _ = await asked(service)  # asked before the assignment: credits nobody
    desk = service.state.desk
    await desk.assign(number, agent, agent.id)
    again = await desk.request_rating(
        number, Scale.BINARY, timedelta(days=7), "Again?", f"agent:{login}"
    )
    await desk.rate(again.token, 0, allow_change=True)
    await desk.comment_rating(again.token, "Slow <i>answer</i>")
    return number, again.token


async def test_the_ticket_page_shows_ratings_read_only(service: Running):
    number, _ = await rated(service)
    async with service.client() as http:
        await signed_in(http, "anna")
        page = await (await http.get(f"/inbox/tickets/{number}")).text()
    start = page.index('id="ratings"')
    section = page[start : page.index("</section>", start)]
    assert "👎" in section and "good / bad" in section and "rating page" in section
    assert "Anna" in section and "Slow &lt;i&gt;answer&lt;/i&gt;" in section
    assert "/ratings" not in page  # no form touches a rating


async def test_an_unrated_ticket_says_so(service: Running):
    await make_agent(service.state.db, "anna")
    number, _ = await asked(service)
    async with service.client() as http:
        await signed_in(http, "anna")
        page = await (await http.get(f"/inbox/tickets/{number}")).text()
    assert "No ratings yet." in page and 'id="request-rating"' in page


async def test_an_agent_sends_a_rating_request_again(service: Running):
    await make_agent(service.state.db, "anna")
    number, _ = await asked(service)
    async with service.client() as http:
        csrf = await signed_in(http, "anna")
        forged = await http.post(f"/inbox/tickets/{number}/rating", data={"csrf": "forged"})
        assert forged.status == 403
        response = await http.post(f"/inbox/tickets/{number}/rating", data={"csrf": csrf})
        assert response.status == 200 and response.url.path == f"/inbox/tickets/{number}"
    async with service.state.db.reading() as s:
        requests = (await s.scalars(select(RatingRequest).order_by(RatingRequest.id))).all()
    assert [r.origin for r in requests] == ["agent:test", "agent:anna"]
    assert requests[1].scale == "binary"
    assert (requests[1].expires_at - requests[1].created_at).days == 7
    ticket = await queries.ticket(service.state.db, number)
    last = (await queries.messages(service.state.db, ticket.id))[-1]
    assert last.text == f"How did we do with your request #{number}? One tap to rate us."
    assert [b.label for b in last.buttons] == ["👍", "👎"]


async def test_the_api_lists_a_tickets_ratings(service: Running):
    number, _ = await rated(service)
    token = await service.agent_token("boris")
    async with aiohttp.ClientSession(service.url) as http:
        headers = {"Authorization": f"Bearer {token}"}
        response = await http.get(f"/api/v1/tickets/{number}/ratings", headers=headers)
        body = await response.json()
        missing = await http.get("/api/v1/tickets/999/ratings", headers=headers)
        anonymous = await http.get(f"/api/v1/tickets/{number}/ratings")
    assert response.status == 200
    [rating] = body["ratings"]
    assert rating["value"] == 0 and rating["label"] == "👎" and rating["scale"] == "binary"
    assert rating["bucket"] == "negative" and rating["via"] == "page"
    assert rating["agent"]["name"] == "Anna" and rating["comment"] == "Slow <i>answer</i>"
    assert missing.status == 404 and anonymous.status == 401


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
async def test_no_role_may_change_a_rating(service: Running, role: Role):
    number, token = await rated(service)
    bearer = await service.agent_token("boris", role)
    async with aiohttp.ClientSession(service.url) as http:
        headers = {"Authorization": f"Bearer {bearer}"}
        for method in ("PUT", "PATCH", "DELETE"):
            response = await http.request(
                method, f"/api/v1/tickets/{number}/ratings", headers=headers, json={"value": 1}
            )
            body = await response.json()
            assert response.status == 403, (method, body)
            assert body["error"]["message"] == "ratings are read-only"
    [rating] = await stored(service.state.db, token)
    assert rating.value == 0 and rating.comment == "Slow <i>answer</i>"
