"""The tokens that stand in for a sign-in, over the real HTTP routes: a rating page's
(/rate/<token>), a survey form's (/survey/<token>), a press link's (/press/<button id>), an
agent's setup link's (/inbox/setup/<token>) and the web chat's signed visitor cookie.

They are long and random; a guessed, cut, padded or altered one is refused with the page's
own message and writes nothing; one opens only its own request; what is used once cannot be
used again, and an expired one is refused; and a refusal tells nothing about whether the token
exists. (Every token is looked up by the database or compared with hmac.compare_digest, and
the setup link and sessions by their SHA-256 digest: no timing is measured here.)"""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bots.webchat.identity import new_cookie
from core import queries
from core.agents import add_agent, authenticate, renew_setup
from core.db import Database
from core.models import Agent, Message, Rating, Role, SurveyAnswer
from core.scales import Scale
from tests import rating_pages, surveys
from tests.rating_pages import cookie_csrf, csrf_of, stored
from tests.ratings_chats import Clock
from tests.service import PASSWORD, Running, running, service_config
from tests.test_webchat import open_chat, say

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
RATING_GONE = "This link is not valid"
SURVEY_GONE = "We could not find the survey"
SETUP_GONE = "This setup link is used up or expired"
REFUSED_PRESS = "This button can no longer be used."


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def svc(db: Database, database_url: str, tmp_path: Path, clock: Clock):
    async with running(service_config(database_url, tmp_path), clock=clock) as service:
        yield service


@pytest.fixture
async def locked(db: Database, database_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    """A service whose rating page forbids changing a rating once given."""
    config = service_config(database_url, tmp_path, ratings={"public_page_allows_change": False})
    async with running(config) as service:
        yield service


async def written(db: Database) -> tuple[int | None, ...]:
    """How many ratings, rating comments, survey answers, pressed buttons and agents with a
    password are stored: what any token could change."""
    counted = (
        select(func.count()).select_from(Rating),
        select(func.count()).select_from(Rating).where(Rating.comment.is_not(None)),
        select(func.count()).select_from(SurveyAnswer),
        select(func.count()).select_from(Message).where(Message.pressed_button_id.is_not(None)),
        select(func.count()).select_from(Agent).where(Agent.password_hash.is_not(None)),
    )
    async with db.reading() as s:
        return tuple([await s.scalar(query) for query in counted])


async def last_buttons(service: Running, number: int) -> list[str]:
    """The ids of the buttons of the ticket's last message (a rating request's)."""
    ticket = await queries.ticket(service.state.db, number)
    [*_, message] = await queries.messages(service.state.db, ticket.id)
    return [b.id for b in message.buttons]


def bits_per_character(tokens: list[str]) -> float:
    """The Shannon entropy of the tokens' characters pooled, the last of each left out (in a
    22-character URL-safe token of 16 bytes it carries 4 bits, not 6)."""
    counts = Counter(c for token in tokens for c in token[:-1])
    total = sum(counts.values())
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def altered(token: str) -> list[str]:
    """Tokens a guesser would try: cut, padded, one character changed, the case changed, and
    a fresh random one."""
    other = "B" if token[5] == "A" else "A"
    return [
        token[:-1],
        token[:8],
        token + "A",
        token + token,
        token[:5] + other + token[6:],
        token.swapcase(),
        secrets.token_urlsafe(16),
    ]


async def test_issued_tokens_are_long_random_and_unrelated(svc: Running):
    ratings, forms, buttons = [], [], []
    for i in range(40):
        number, token = await rating_pages.asked(svc, who=f"rated-{i}")
        ratings.append(token)
        buttons += await last_buttons(svc, number)
        forms.append((await surveys.asked(svc, who=f"surveyed-{i}"))[1])
    # The same ticket asked again gets a token unrelated to its first.
    _, again = await rating_pages.asked(svc, who="rated-0")
    ratings.append(again)
    db, now = svc.state.db, svc.state.clock()
    setups = [
        (await add_agent(db, f"Agent {i}", f"agent{i}", Role.AGENT, now)).setup_token
        for i in range(20)
    ]
    for kind, tokens, least in (
        ("rating", ratings, 22),  # 16 random bytes: 128 bits
        ("survey", forms, 22),
        ("button", buttons, 22),
        ("setup", setups, 32),  # 24 random bytes
    ):
        assert len(set(tokens)) == len(tokens), kind
        for token in tokens:
            assert URL_SAFE.fullmatch(token) and len(token) >= least, (kind, token)
        assert bits_per_character(tokens) > 5.8, kind  # 6 for uniform random URL-safe text
        for one, next_one in pairwise(tokens):  # no counter, no sequence
            same = sum(a == b for a, b in zip(one, next_one, strict=False))
            assert same <= len(one) // 3, (kind, one, next_one)  # random: 1 in 64 a place
    assert ratings[0] != again and ratings[0][:8] != again[:8]


async def test_guessed_or_altered_tokens_are_refused_and_write_nothing(svc: Running):
    db = svc.state.db
    number, token = await rating_pages.asked(svc)
    [up, _] = await last_buttons(svc, number)
    _, form = await surveys.asked(svc, who="v2")
    agent = await add_agent(db, "Boris", "boris", Role.AGENT, svc.state.clock())
    async with svc.client() as http:
        page = await (await http.get(f"/rate/{token}")).text()
        await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), "value": "1"})
        csrf = cookie_csrf(http, svc.url)
        before = await written(db)
        bodies: dict[str, set[str]] = {k: set() for k in ("rate", "survey", "press", "setup")}
        for wrong in altered(token):
            got = await http.get(f"/rate/{wrong}?v=0")
            assert got.status == 404 and RATING_GONE in await got.text(), wrong
            bodies["rate"].add(await got.text())
            posted = await http.post(f"/rate/{wrong}", data={"csrf": csrf, "value": "0"})
            assert posted.status == 404 and RATING_GONE in await posted.text(), wrong
            comment = {"csrf": csrf, "text": "written with a guessed link"}
            commented = await http.post(f"/rate/{wrong}/comment", data=comment)
            assert commented.status == 404 and RATING_GONE in await commented.text(), wrong
        for wrong in altered(form):
            got = await http.get(f"/survey/{wrong}")
            assert got.status == 404 and SURVEY_GONE in await got.text(), wrong
            bodies["survey"].add(await got.text())
            fields = {"csrf": csrf, **{f"a.{k}": v for k, v in surveys.FULL.items()}}
            posted = await http.post(f"/survey/{wrong}", data=fields)
            assert posted.status == 404 and SURVEY_GONE in await posted.text(), wrong
        for wrong in altered(up):
            got = await http.get(f"/press/{wrong}")
            assert got.status == 404 and RATING_GONE in await got.text(), wrong
            bodies["press"].add(await got.text())
            posted = await http.post(f"/press/{wrong}", data={"csrf": csrf})
            assert posted.status == 404 and RATING_GONE in await posted.text(), wrong
        for wrong in altered(agent.setup_token):
            got = await http.get(f"/inbox/setup/{wrong}")
            assert got.status == 410 and SETUP_GONE in await got.text(), wrong
            bodies["setup"].add(await got.text())
            posted = await http.post(
                f"/inbox/setup/{wrong}", data={"csrf": csrf, "password": "guessed password"}
            )
            assert posted.status == 410 and SETUP_GONE in await posted.text(), wrong
        # Outside the tokens' alphabet (base64 padding, a NUL): no page, and no lookup either.
        for path in (f"/rate/{token}==", f"/survey/{form}%00", f"/press/{up}%00"):
            assert (await http.get(path)).status == 404, path
        # A refusal is the same page whichever wrong token it was: nothing tells how near it was.
        assert {kind: len(pages) for kind, pages in bodies.items()} == dict.fromkeys(bodies, 1)
    assert await written(db) == before
    [rating] = await stored(db, token)
    assert (rating.value, rating.comment) == (1, None)
    assert await authenticate(db, "boris", "guessed password") is None


async def test_a_token_opens_only_its_own_request(svc: Running):
    db = svc.state.db
    number_a, rating_a = await rating_pages.asked(svc, who="alice")
    [button_a, _] = await last_buttons(svc, number_a)
    _, rating_b = await rating_pages.asked(svc, who="bob")
    _, survey_a = await surveys.asked(svc, who="alice")
    setup = (await add_agent(db, "Boris", "boris", Role.AGENT, svc.state.clock())).setup_token
    async with svc.client() as http:
        await http.get(f"/rate/{rating_a}")
        csrf = cookie_csrf(http, svc.url)
        # A token of one kind opens no page of another.
        for path in (
            f"/survey/{rating_a}",
            f"/rate/{survey_a}",
            f"/rate/{button_a}",
            f"/survey/{button_a}",
            f"/press/{rating_a}",
            f"/press/{survey_a}",
            f"/rate/{setup}",
        ):
            assert (await http.get(path)).status == 404, path
            assert (await http.post(path, data={"csrf": csrf, "value": "1"})).status == 404, path
        assert (await http.get(f"/inbox/setup/{rating_a}")).status == 410
        before = await written(db)
        # Alice's link rates and comments on Alice's request only.
        await http.post(f"/rate/{rating_a}", data={"csrf": csrf, "value": "0"})
        comment = {"csrf": csrf, "text": "Alice's comment"}
        assert (await http.post(f"/rate/{rating_a}/comment", data=comment)).status == 200
    [rating] = await stored(db, rating_a)
    assert (rating.value, rating.comment) == (0, "Alice's comment")
    assert await stored(db, rating_b) == []
    assert await written(db) == (before[0] + 1, before[1] + 1, *before[2:])


async def test_anothers_press_is_refused_alike_whatever_the_buttons_state(
    svc: Running, clock: Clock
):
    async with svc.client() as alice, svc.client() as mallory:
        await open_chat(alice)
        number = (await (await say(alice, "my parcel is lost")).json())["ticket"]
        await open_chat(mallory)
        await say(mallory, "me too", client_id="client-0002")
        await svc.state.desk.request_rating(
            number, Scale.BINARY, timedelta(hours=1), "How did we do?", "agent:test"
        )
        [up, _] = await last_buttons(svc, number)
        clock.advance(hours=2)  # the request has expired
        before = await written(svc.state.db)

        async def press(who: aiohttp.ClientSession, button: str, client_id: str) -> str:
            got = await who.post(
                "/chat/api/web/press", json={"button": button, "client_id": client_id}
            )
            assert got.status == 403
            return (await got.json())["error"]["message"]

        assert "has expired" in await press(alice, up, "press-0001")  # told to its recipient
        stolen = await press(mallory, up, "press-0002")
        unknown = await press(mallory, secrets.token_urlsafe(16), "press-0003")
        assert stolen == unknown == REFUSED_PRESS  # neither the button nor its state shows
    assert await written(svc.state.db) == before


async def test_a_locked_rating_cannot_be_changed_through_its_buttons_links(locked: Running):
    db = locked.state.db
    number, token = await rating_pages.asked(locked)
    [up, down] = await last_buttons(locked, number)
    async with locked.client() as http:
        page = await (await http.get(f"/rate/{token}")).text()
        await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), "value": "1"})
        before = await written(db)
        refused = await http.post(f"/press/{down}", data={"csrf": csrf_of(page)})
        assert refused.status == 403
        assert "can no longer be changed" in await refused.text()
        assert await written(db) == before
        # The other way round: a value given by a link is locked on the page too.
        number, token = await rating_pages.asked(locked, who="v2")
        [up, _] = await last_buttons(locked, number)
        await http.post(f"/press/{up}", data={"csrf": csrf_of(page)})
        changed = await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), "value": "0"})
        assert changed.status == 409
    assert [r.value for r in await stored(db)] == [1, 1]


async def test_a_requests_button_links_answer_once(svc: Running):
    number, token = await rating_pages.asked(svc)
    [up, down] = await last_buttons(svc, number)
    async with svc.client() as http:
        page = await (await http.get(f"/press/{up}")).text()
        await http.post(f"/press/{up}", data={"csrf": csrf_of(page)})
        second = await http.post(f"/press/{down}", data={"csrf": csrf_of(page)})
        assert second.status == 200 and second.url.path == f"/rate/{token}"
    [rating] = await stored(svc.state.db, token)
    assert rating.value == 1  # the first press of the request's buttons is the answer


async def test_a_comment_after_the_request_expired_is_refused(svc: Running, clock: Clock):
    _, token = await rating_pages.asked(svc, expires_in=timedelta(hours=1))
    async with svc.client() as http:
        page = await (await http.get(f"/rate/{token}")).text()
        await http.post(f"/rate/{token}", data={"csrf": csrf_of(page), "value": "0"})
        clock.advance(hours=2)
        comment = {"csrf": csrf_of(page), "text": "late"}
        late = await http.post(f"/rate/{token}/comment", data=comment)
        assert late.status == 410 and "This request has expired" in await late.text()
    [rating] = await stored(svc.state.db, token)
    assert rating.comment is None


async def test_a_setup_link_works_once_and_not_after_renewal_or_expiry(svc: Running, clock: Clock):
    db = svc.state.db
    used = await add_agent(db, "Boris", "boris", Role.AGENT, clock())
    renewed = await add_agent(db, "Vera", "vera", Role.AGENT, clock())
    fresh = await renew_setup(db, renewed.agent.id, clock())
    expiring = await add_agent(db, "Gleb", "gleb", Role.AGENT, clock())

    async def set_password(token: str, password: str) -> aiohttp.ClientResponse:
        async with svc.client() as http:  # a browser of its own: no session cookie yet
            await http.get("/rate/none")  # any public page sets the pre-sign-in CSRF token
            csrf = cookie_csrf(http, svc.url)
            return await http.post(
                f"/inbox/setup/{token}", data={"csrf": csrf, "password": password}
            )

    done = await set_password(used.setup_token, PASSWORD)
    assert done.status == 200 and done.url.path == "/inbox"
    refused = [
        await set_password(used.setup_token, "another password"),  # used once already
        await set_password(renewed.setup_token, "another password"),  # replaced by ``fresh``
        await set_password("no-such-link", "another password"),
    ]
    clock.advance(days=3, seconds=1)  # older than a setup link may be
    refused.append(await set_password(expiring.setup_token, "another password"))
    assert [r.status for r in refused] == [410] * 4
    pages = {await r.text() for r in refused}
    assert len(pages) == 1 and SETUP_GONE in pages.pop()  # used, stale or unknown: alike
    assert await authenticate(db, "boris", PASSWORD) is not None
    for login in ("boris", "vera", "gleb"):
        assert await authenticate(db, login, "another password") is None, login
    clock.advance(days=-3)
    assert (await set_password(fresh, PASSWORD)).status == 200  # the renewed link works


async def test_a_chat_cookie_signed_with_another_key_is_refused(svc: Running):
    _, forged = new_cookie(b"not the service's key", "web")
    async with svc.client() as http:
        http.cookie_jar.update_cookies({"otklik_chat_web": forged})
        assert (await say(http, "let me in")).status == 401
    async with aiohttp.ClientSession(svc.url) as http:
        cookie = {"Cookie": "otklik_chat_web=visitor.signatur\u00e9".encode().decode("latin-1")}
        got = await http.post(
            "/chat/api/web/messages", json={"text": "hi", "client_id": "c-1"}, headers=cookie
        )
        assert got.status == 401
    _, total = await queries.tickets(svc.state.db, queries.TicketFilter())
    assert total == 0


async def test_a_security_token_outside_ascii_is_refused_not_a_server_error(svc: Running):
    _, token = await rating_pages.asked(svc)
    async with svc.client() as http:
        await http.get(f"/rate/{token}")
        refused = await http.post(f"/rate/{token}", data={"csrf": "d\u00e9j\u00e0", "value": "1"})
        assert refused.status == 403
    assert await stored(svc.state.db) == []
