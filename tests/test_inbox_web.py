"""The agent inbox over HTTP: sign-in, setup links, CSRF, escaping, rights, bad input."""

import re

import aiohttp

from core import queries
from core.agents import add_agent
from core.clock import utcnow
from core.engine import changes
from core.messages import Inbound
from core.models import Role, TicketStatus
from tests.people import make_agent
from tests.service import PASSWORD, Running

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in(http: aiohttp.ClientSession, login: str) -> str:
    """Sign in through the form as a browser does; returns the session's CSRF token."""
    page = await (await http.get("/inbox/login")).text()
    form = {"login": login, "password": PASSWORD, "csrf": CSRF.search(page)[1], "next": "/inbox"}
    response = await http.post("/inbox/login", data=form)
    assert response.status == 200 and response.url.path == "/inbox"
    return CSRF.search(await response.text())[1]


async def customer_writes(service: Running, text: str, who: str = "v1") -> int:
    got = await service.state.desk.receive(Inbound(inbox="web", external_id=who, text=text))
    return got.ticket_number


async def test_inbox_needs_sign_in(service: Running):
    async with service.client() as http:
        response = await http.get("/inbox/tickets/1", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/inbox/login?next=/inbox/tickets/1"


async def test_wrong_password_is_refused(service: Running):
    await make_agent(service.state.db, "anna")
    async with service.client() as http:
        page = await (await http.get("/inbox/login")).text()
        response = await http.post(
            "/inbox/login",
            data={"login": "anna", "password": "wrong password!", "csrf": CSRF.search(page)[1]},
        )
        assert response.status == 401
        assert "Wrong login or password" in await response.text()


async def test_session_cookie_is_httponly_and_samesite(service: Running):
    await make_agent(service.state.db, "anna")
    async with service.client() as http:
        page = await (await http.get("/inbox/login")).text()
        response = await http.post(
            "/inbox/login",
            allow_redirects=False,
            data={"login": "anna", "password": PASSWORD, "csrf": CSRF.search(page)[1]},
        )
        cookie = response.cookies["otklik_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"


async def test_login_never_redirects_off_site(service: Running):
    await make_agent(service.state.db, "anna")
    async with service.client() as http:
        page = await (await http.get("/inbox/login")).text()
        response = await http.post(
            "/inbox/login",
            allow_redirects=False,
            data={
                "login": "anna",
                "password": PASSWORD,
                "csrf": CSRF.search(page)[1],
                "next": "//evil.example/phish",
            },
        )
        assert response.headers["Location"] == "/inbox"


async def test_setup_link_sets_the_password_once(service: Running):
    new = await add_agent(service.state.db, "Boris", "boris", Role.AGENT, utcnow())
    async with service.client() as http:
        page = await (await http.get(f"/inbox/setup/{new.setup_token}")).text()
        short = await http.post(
            f"/inbox/setup/{new.setup_token}",
            data={"password": "short", "csrf": CSRF.search(page)[1]},
        )
        assert short.status == 400 and "at least 10" in await short.text()
        done = await http.post(
            f"/inbox/setup/{new.setup_token}",
            data={"password": PASSWORD, "csrf": CSRF.search(page)[1]},
        )
        assert done.status == 200 and done.url.path == "/inbox"
        again = await http.get(f"/inbox/setup/{new.setup_token}")
        assert again.status == 410


async def test_forms_without_csrf_token_are_refused_and_change_nothing(service: Running):
    await make_agent(service.state.db, "anna")
    number = await customer_writes(service, "hello")
    async with service.client() as http:
        token = await signed_in(http, "anna")
        forged = await http.post(f"/inbox/tickets/{number}/status", data={"status": "closed"})
        assert forged.status == 403 and "security token" in await forged.text()
        wrong = await http.post(
            f"/inbox/tickets/{number}/reply", data={"text": "hi", "csrf": "not-the-token"}
        )
        assert wrong.status == 403
        ticket = await queries.ticket(service.state.db, number)
        assert ticket.status == TicketStatus.NEW
        assert len(await queries.messages(service.state.db, ticket.id)) == 1
        ok = await http.post(
            f"/inbox/tickets/{number}/status", data={"status": "closed", "csrf": token}
        )
        assert ok.status == 200
        assert (await queries.ticket(service.state.db, number)).status == TicketStatus.CLOSED


async def test_login_form_needs_its_csrf_token(service: Running):
    await make_agent(service.state.db, "anna")
    async with service.client() as http:
        response = await http.post("/inbox/login", data={"login": "anna", "password": PASSWORD})
        assert response.status == 403


async def test_customer_text_is_escaped_everywhere(service: Running):
    await make_agent(service.state.db, "anna")
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    number = await customer_writes(service, attack)
    async with service.client() as http:
        await signed_in(http, "anna")
        for path in ("/inbox", f"/inbox/tickets/{number}"):
            html = await (await http.get(path)).text()
            assert "<script>alert(1)</script>" not in html
            assert "<img src=x" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_agent_cannot_act_on_another_agents_ticket(service: Running):
    anna = await make_agent(service.state.db, "anna")
    await make_agent(service.state.db, "boris")
    number = await customer_writes(service, "hello")
    await service.state.desk.assign(number, anna, anna.id)
    async with service.client() as http:
        token = await signed_in(http, "boris")
        response = await http.post(
            f"/inbox/tickets/{number}/reply", data={"text": "mine", "csrf": token}
        )
        assert response.status == 403 and "assigned to Anna" in await response.text()
    ticket = await queries.ticket(service.state.db, number)
    assert len(await queries.messages(service.state.db, ticket.id)) == 1


async def test_unknown_ticket_is_404_and_invalid_transition_409(service: Running):
    await make_agent(service.state.db, "anna", Role.SUPERVISOR)
    number = await customer_writes(service, "hello")
    async with service.client() as http:
        token = await signed_in(http, "anna")
        assert (await http.get("/inbox/tickets/999")).status == 404
        assert (await http.get("/inbox/tickets/abc")).status == 404
        await http.post(f"/inbox/tickets/{number}/status", data={"status": "closed", "csrf": token})
        bad = await http.post(
            f"/inbox/tickets/{number}/status", data={"status": "waiting", "csrf": token}
        )
        assert bad.status == 409 and "can become open, not waiting" in await bad.text()
        junk = await http.post(
            f"/inbox/tickets/{number}/status", data={"status": "deleted", "csrf": token}
        )
        assert junk.status == 400


async def test_oversized_form_is_413(service: Running):
    await make_agent(service.state.db, "anna")
    number = await customer_writes(service, "hello")
    async with service.client() as http:
        token = await signed_in(http, "anna")
        response = await http.post(
            f"/inbox/tickets/{number}/reply", data={"text": "x" * 2_000_000, "csrf": token}
        )
        assert response.status == 413
    ticket = await queries.ticket(service.state.db, number)
    assert len(await queries.messages(service.state.db, ticket.id)) == 1


async def test_filters_narrow_the_list(service: Running):
    anna = await make_agent(service.state.db, "anna")
    one = await customer_writes(service, "Refund please", who="a")
    await customer_writes(service, "Delivery question", who="b")
    await service.state.desk.assign(one, anna, anna.id)
    async with service.client() as http:
        await signed_in(http, "anna")
        mine = await (await http.get("/inbox?assignee=me&partial=1")).text()
        found = await (await http.get("/inbox?q=delivery&partial=1")).text()
        bad = await http.get("/inbox?status=nonsense")
    assert "Refund please" in mine and "Delivery question" not in mine
    assert 'class="channel channel-webchat">webchat<' in mine  # every row names its channel
    assert "Delivery question" in found and "Refund please" not in found
    assert bad.status == 400


async def test_agents_live_feed_tells_about_new_messages(service: Running):
    await make_agent(service.state.db, "anna")
    async with service.client() as http:
        await signed_in(http, "anna")
        async with http.ws_connect("/inbox/ws") as ws:
            await customer_writes(service, "are you there?")
            notices = [await ws.receive_json(timeout=5) for _ in range(2)]
    assert notices == [
        {"event": "ticket.created", "ticket": 1},
        {"event": "message.received", "ticket": 1},
    ]


async def test_live_feed_needs_sign_in(service: Running):
    async with service.client() as http:
        response = await http.get("/inbox/ws", allow_redirects=False)
        assert response.status == 303


async def test_history_names_the_rules_priority_and_tags_they_changed(service: Running):
    await make_agent(service.state.db, "anna")
    number = await customer_writes(service, "my order is late")
    async with service.state.desk.together(depth=0) as unit:
        await unit.do(changes.set_priority, number, "urgent")
        await unit.do(changes.add_tags, number, ["vip", "orders"])
    async with service.client() as http:
        await signed_in(http, "anna")
        page = await (await http.get(f"/inbox/tickets/{number}")).text()
    history = " ".join(page[page.index('<ol id="audit">') :].split())
    assert "rules · priority normal → urgent" in history
    assert "rules · tagged vip, orders" in history
    assert "assignee" not in history


async def test_take_and_tell_the_customer(service: Running):
    await make_agent(service.state.db, "anna")
    number = await customer_writes(service, "my order is late")
    async with service.client() as http:
        token = await signed_in(http, "anna")
        page = await (await http.get(f"/inbox/tickets/{number}")).text()
        assert f'action="/inbox/tickets/{number}/take"' in page
        forged = await http.post(f"/inbox/tickets/{number}/take", data={})
        assert forged.status == 403
        taken = await http.post(f"/inbox/tickets/{number}/take", data={"csrf": token})
        assert taken.status == 200
        page = await taken.text()
    assert "Anna has taken your request" in page
    assert f'action="/inbox/tickets/{number}/take"' not in page  # open and answered now
    ticket = await queries.ticket(service.state.db, number)
    assert (ticket.status, ticket.assignee.login) == (TicketStatus.OPEN, "anna")
