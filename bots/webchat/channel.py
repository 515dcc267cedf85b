"""The web chat adapter: HTTP in, WebSocket out, like any other channel behind the core.

Routes (``{inbox}`` is the inbox name; ``/chat`` alone serves the first web chat inbox):
  GET  /chat[/{inbox}]                 the chat page (sets the signed visitor cookie)
  GET  /chat/widget.js                 the script a company puts on its site
  GET  /chat/static/…                  the page's script and styles
  GET  /chat/api/{inbox}/history       the visitor's conversation
  POST /chat/api/{inbox}/messages      {"text", "client_id", "name"?} → the stored message
  POST /chat/api/{inbox}/press         {"button", "client_id"} → the recorded press; a refused
                                       one is 403 with the text to show the visitor
  GET  /chat/api/{inbox}/ws            live messages for this visitor
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from bots.webchat.identity import new_cookie, visitor_of
from core import queries
from core.channels import ButtonStyle, Capabilities, Sent
from core.desk import Desk
from core.errors import ButtonRefused
from core.i18n import text
from core.messages import MAX_TEXT, Inbound, Outbound, Press
from core.models import Message
from settings.config import WebchatInbox

log = logging.getLogger("otklik.webchat")
_HERE = Path(__file__).parent
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_pages = Environment(
    loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
)


class _Said(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    client_id: str = Field(pattern=_CLIENT_ID.pattern)
    name: str | None = Field(None, max_length=200)


class _Pressed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    button: str = Field(min_length=1, max_length=32)
    client_id: str = Field(pattern=_CLIENT_ID.pattern)


class WebchatChannel:
    # What the chat page offers the core: texts of any length, buttons as chips in lines as
    # wide as the page (a press comes back by POST), a press greys the chips out. Files are
    # not sent: they go as links.
    capabilities = Capabilities(max_text=None, buttons=ButtonStyle.CALLBACK, edits=True)

    def __init__(
        self, inbox: WebchatInbox, desk: Desk, secret: bytes, locale: str, secure_cookies: bool
    ) -> None:
        self.inbox = inbox
        self._desk = desk
        self._secret = secret
        self._locale = locale
        self._secure = secure_cookies
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._cookie = f"otklik_chat_{inbox.name}"
        # The visitor's tabs may be open on any web process: what they should show is told
        # to every process, and each pushes it to the tabs it holds.
        self._topic = f"webchat:{inbox.name}"
        desk.bus.listen(self._topic, self._heard)

    def mount(self, app: web.Application, *, default: bool) -> None:
        base = f"/chat/api/{self.inbox.name}"
        routes = [
            web.get(f"/chat/{self.inbox.name}", self.page),
            web.get(f"{base}/history", self.history),
            web.post(f"{base}/messages", self.post_message),
            web.post(f"{base}/press", self.post_press),
            web.get(f"{base}/ws", self.socket),
        ]
        if default:
            routes += [
                web.get("/chat", self.page),
                web.get("/chat/widget.js", widget_script),
                web.static("/chat/static", _HERE / "static"),
            ]
        app.add_routes(routes)

    # -- the core's side: deliver an outgoing message ----------------------------------------

    async def send(self, outbound: Outbound) -> Sent:
        """Push to the visitor's open chat tabs; a closed tab sees it in its history later."""
        self._show(
            outbound.external_id,
            {
                "id": outbound.message_id,
                "direction": "out",
                "text": outbound.text,
                "author": outbound.author_name,
                "buttons": [
                    {"id": b.id, "label": b.label, "row": b.row, "pressed": False}
                    for b in outbound.buttons
                ],
            },
        )
        return Sent(platform_message_id=f"webchat-{outbound.message_id}")

    def _show(self, visitor: str, message: dict[str, Any]) -> None:
        self._desk.bus.tell(self._topic, {"visitor": visitor, "message": message})

    async def _heard(self, told: dict[str, Any]) -> None:
        visitor, message = told["visitor"], told["message"]
        for ws in list(self._sockets.get(visitor, ())):
            try:
                await ws.send_json({"type": "message", "message": message})
            except (ConnectionResetError, RuntimeError):
                self._sockets[visitor].discard(ws)

    # -- the customer's side ---------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        response = web.Response(content_type="text/html")
        self._visitor(request, response)
        t = {
            k: text(self._locale, f"chat.{k}")
            for k in ("title", "placeholder", "send", "name", "offline", "refused", "failed")
        }
        response.text = _pages.get_template("chat.html").render(
            inbox=self.inbox.name,
            title=self.inbox.title,
            t=t,
            locale=self._locale,
            greeting=getattr(self.inbox.greeting, self._locale),
            embedded=request.query.get("embed") == "1",
        )
        return response

    async def history(self, request: web.Request) -> web.Response:
        visitor = self._visitor(request)
        shown = await queries.customer_history(self._desk.db, self.inbox.name, visitor)
        return web.json_response({"messages": [_public(m) for m in shown]})

    async def post_message(self, request: web.Request) -> web.Response:
        visitor = self._visitor(request)
        said = _Said.model_validate(await _json(request))
        got = await self._desk.receive(
            Inbound(
                inbox=self.inbox.name,
                external_id=visitor,
                text=said.text,
                platform_message_id=said.client_id,
                customer_name=said.name,
            )
        )
        message = {"id": got.message_id, "direction": "in", "text": said.text, "buttons": []}
        if not got.duplicate:
            self._show(visitor, message)
        return web.json_response(
            {"message": message, "ticket": got.ticket_number}, status=200 if got.duplicate else 201
        )

    async def post_press(self, request: web.Request) -> web.Response:
        visitor = self._visitor(request)
        pressed = _Pressed.model_validate(await _json(request))
        try:
            got = await self._desk.press(
                Press(
                    inbox=self.inbox.name,
                    external_id=visitor,
                    button_id=pressed.button,
                    platform_event_id=pressed.client_id,
                )
            )
        except ButtonRefused as exc:
            said = text(self._locale, exc.key or "chat.refused")
            return web.json_response({"error": {"status": 403, "message": said}}, status=403)
        return web.json_response({"message_id": got.message_id, "ticket": got.ticket_number})

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        visitor = self._visitor(request)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets[visitor].add(ws)
        try:
            async for msg in ws:  # the page only listens; it sends through POST
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets[visitor].discard(ws)
            if not self._sockets[visitor]:
                del self._sockets[visitor]
        return ws

    def _visitor(self, request: web.Request, response: web.Response | None = None) -> str:
        """The visitor behind the request; a page load makes a new one, an API call refuses."""
        visitor = visitor_of(self._secret, self.inbox.name, request.cookies.get(self._cookie))
        if visitor:
            return visitor
        if response is None:
            raise web.HTTPUnauthorized(text="no chat session: open the chat page first")
        visitor, cookie = new_cookie(self._secret, self.inbox.name)
        response.set_cookie(
            self._cookie,
            cookie,
            max_age=365 * 24 * 3600,
            httponly=True,
            path="/chat",
            secure=self._secure,
            samesite="None" if self._secure else "Lax",
        )
        return visitor


async def _json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        # A cross-site form cannot send JSON without a CORS preflight, which we never allow.
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    return await request.json()


def _public(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "text": message.text,
        "author": message.author.name if message.author else None,
        "attachments": message.attachments,
        "buttons": [
            {"id": b.id, "label": b.label, "row": b.row, "pressed": b.pressed_at is not None}
            for b in message.buttons
        ],
        "created_at": message.created_at.isoformat(),
    }


async def widget_script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        _HERE / "static" / "widget.js",
        headers={"Content-Type": "application/javascript", "Cache-Control": "max-age=3600"},
    )
