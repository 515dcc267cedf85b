"""The web chat channel over HTTP: signed identity, idempotent sends, refused presses."""

import aiohttp

from core import queries
from core.messages import Button
from tests.service import Running


async def open_chat(http: aiohttp.ClientSession, inbox: str = "web") -> None:
    response = await http.get("/chat" if inbox == "web" else f"/chat/{inbox}")
    assert response.status == 200


async def say(
    http: aiohttp.ClientSession, text: str, client_id: str = "client-0001", inbox: str = "web"
) -> aiohttp.ClientResponse:
    return await http.post(
        f"/chat/api/{inbox}/messages", json={"text": text, "client_id": client_id}
    )


async def test_retried_send_stores_one_message(service: Running):
    async with service.client() as http:
        await open_chat(http)
        first = await say(http, "hello")
        again = await say(http, "hello")
        assert (first.status, again.status) == (201, 200)
        assert (await first.json())["message"]["id"] == (await again.json())["message"]["id"]
        history = await (await http.get("/chat/api/web/history")).json()
        assert [m["text"] for m in history["messages"]] == ["hello"]


async def test_forged_or_missing_visitor_cookie_is_refused(service: Running):
    async with service.client() as http:
        assert (await say(http, "no cookie")).status == 401
        http.cookie_jar.update_cookies({"otklik_chat_web": "someone-else.forgedsignature"})
        assert (await say(http, "forged")).status == 401
    _, total = await queries.tickets(service.state.db, queries.TicketFilter())
    assert total == 0


async def test_a_cookie_of_one_inbox_does_not_open_another(service: Running):
    async with service.client() as http:
        await open_chat(http)
        cookie = http.cookie_jar.filter_cookies(service.server.make_url("/chat"))
        value = cookie["otklik_chat_web"].value
        http.cookie_jar.update_cookies({"otklik_chat_shop": value})
        assert (await say(http, "hi", inbox="shop")).status == 401


async def test_bad_bodies_get_clear_errors(service: Running):
    async with service.client() as http:
        await open_chat(http)
        broken = await http.post(
            "/chat/api/web/messages", data="{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status == 400
        assert "malformed JSON" in (await broken.json())["error"]["message"]
        form = await http.post("/chat/api/web/messages", data={"text": "hi"})
        assert form.status == 415
        empty = await say(http, "   ")
        assert empty.status == 400
        no_id = await http.post("/chat/api/web/messages", json={"text": "hi"})
        assert no_id.status == 400 and "client_id" in (await no_id.json())["error"]["message"]
        huge = await say(http, "x" * 1_200_000)
        assert huge.status == 413
    _, total = await queries.tickets(service.state.db, queries.TicketFilter())
    assert total == 0


async def test_presses_only_by_the_visitor_the_buttons_were_sent_to(service: Running):
    async with service.client() as alice, service.client() as mallory:
        await open_chat(alice)
        await open_chat(mallory)
        await say(alice, "question")
        await say(mallory, "me too", client_id="client-0002")
        message = await service.state.desk.reply(1, None, "Solved?", [Button("Yes", "ok")])
        button = message.buttons[0].id
        stolen = await mallory.post(
            "/chat/api/web/press", json={"button": button, "client_id": "press-0001"}
        )
        assert stolen.status == 403
        forged = await alice.post(
            "/chat/api/web/press", json={"button": "made-up", "client_id": "press-0002"}
        )
        assert forged.status == 403
        pressed = await alice.post(
            "/chat/api/web/press", json={"button": button, "client_id": "press-0003"}
        )
        assert pressed.status == 200 and (await pressed.json())["ticket"] == 1


async def test_reply_arrives_live_over_the_socket(service: Running):
    async with service.client() as http:
        await open_chat(http)
        await say(http, "anyone?")
        async with http.ws_connect("/chat/api/web/ws") as ws:
            await service.state.desk.reply(1, None, "Yes, here")
            await service.drain_outbox()
            pushed = await ws.receive_json(timeout=5)
        assert pushed["type"] == "message" and pushed["message"]["text"] == "Yes, here"


async def test_widget_script_and_page_are_served(service: Running):
    async with service.client() as http:
        script = await http.get("/chat/widget.js")
        assert script.status == 200 and "iframe" in await script.text()
        page = await http.get("/chat/shop?embed=1")
        assert page.status == 200 and "X-Frame-Options" not in page.headers
        inbox = await http.get("/inbox/login")
        assert inbox.headers["X-Frame-Options"] == "DENY"


async def test_a_long_reply_arrives_whole_in_one_message(service: Running):
    long = "\n".join(f"Line {i}: every step of the order, explained at length." for i in range(300))
    async with service.client() as http:
        await open_chat(http)
        await say(http, "tell me everything")
        async with http.ws_connect("/chat/api/web/ws") as ws:
            await service.state.desk.reply(1, None, long, [Button("Thanks", "thanks")])
            await service.drain_outbox()
            pushed = await ws.receive_json(timeout=5)
        assert pushed["message"]["text"] == long
        assert [b["label"] for b in pushed["message"]["buttons"]] == ["Thanks"]
