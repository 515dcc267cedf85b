"""``FakeViber``: the emulator's server, with its lifecycle, methods, recorded calls, injected
faults, subscriptions, media and callbacks out."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.viber import checks
from tests.fakes.viber.callbacks import CallbackBuilders, Json

INVALID_URL = 1
INVALID_TOKEN = 2
NOT_SUBSCRIBED = 6


@dataclass(frozen=True)
class ApiCall:
    method: str
    body: Json
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it came in


@dataclass
class Fault:
    """What the next call of a method answers instead (once ``after`` calls of it went
    through): an HTTP error or a Viber status."""

    http_status: int | None = None
    status: int | None = None
    status_message: str = ""
    retry_after: int | None = None
    after: int = 0


@dataclass
class Webhook:
    url: str
    event_types: list[str] = field(default_factory=list)


class FakeViber(CallbackBuilders):
    """The Bot API of one bot, served on 127.0.0.1 while the context is open."""

    def __init__(self, token: str, name: str = "Acme") -> None:
        self.token = token
        self.name = name
        self.calls: list[ApiCall] = []
        self.webhook: Webhook | None = None
        self.subscribers: set[str] = set()
        self._faults: dict[str, list[Fault]] = {}
        self._routes: dict[str, str] = {}
        self._media: dict[str, bytes] = {}
        self._sent_tokens = itertools.count(5_700_000_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeViber:
        app = web.Application()
        app.router.add_post("/pa/{method}", self._api)
        app.router.add_get("/media/{name}", self._get_media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/pa"

    # -- what tests arrange and read -------------------------------------------------------

    def fail_next(self, method: str, **fault: Any) -> None:
        self._faults.setdefault(method, []).append(Fault(**fault))

    def route(self, public: str, local: str) -> None:
        """Reach ``public`` (an https address) at ``local`` (the service on loopback)."""
        self._routes[public.rstrip("/")] = local.rstrip("/")

    def unsubscribe(self, user_id: str) -> None:
        self.subscribers.discard(user_id)

    def add_media(self, name: str, content: bytes) -> str:
        self._media[name] = content
        return f"http://127.0.0.1:{self._port}/media/{name}"

    def calls_of(self, method: str) -> list[Json]:
        return [c.body for c in self.calls if c.method == method]

    def sent(self, receiver: str | None = None) -> list[Json]:
        """Messages Viber accepted (to ``receiver`` only, when given)."""
        return [
            c.body
            for c in self.calls
            if c.method == "send_message" and c.body.get("_accepted")
            if receiver is None or c.body["receiver"] == receiver
        ]

    # -- callbacks out ---------------------------------------------------------------------

    def sign(self, body: bytes, key: str | None = None) -> str:
        return hmac.new((key or self.token).encode(), body, hashlib.sha256).hexdigest()

    async def deliver(
        self, url: str, callback: Json | bytes, *, signature: str | None = "valid"
    ) -> tuple[int, str]:
        """POST a callback to ``url`` as Viber does. ``signature``: "valid", "forged" (signed
        with another key), None (no header) or a literal header value."""
        body = callback if isinstance(callback, bytes) else json.dumps(callback).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Viber-Content-Signature"] = self.sign(body)
        elif signature == "forged":
            headers["X-Viber-Content-Signature"] = self.sign(body, key="not-the-bot-token-xx")
        elif signature is not None:
            headers["X-Viber-Content-Signature"] = signature
        if isinstance(callback, dict) and signature == "valid":
            self._subscriptions(callback)
        async with (
            aiohttp.ClientSession() as http,
            http.post(self._routed(url), data=body, headers=headers) as response,
        ):
            return response.status, await response.text()

    def _subscriptions(self, callback: Json) -> None:
        if callback.get("event") == "message":
            self.subscribers.add(callback["sender"]["id"])
        elif callback.get("event") == "subscribed":
            self.subscribers.add(callback["user"]["id"])
        elif callback.get("event") == "unsubscribed":
            self.subscribers.discard(callback["user_id"])

    def _routed(self, url: str) -> str:
        for public, local in self._routes.items():
            if url.startswith(public + "/"):
                return local + url[len(public) :]
        return url

    # -- the API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.headers.get("X-Viber-Auth-Token")
        try:
            body = json.loads(await request.read())
        except json.JSONDecodeError:
            body = None
        call = ApiCall(method, body if isinstance(body, dict) else {}, token)
        self.calls.append(call)
        handler = {
            "send_message": self._send_message,
            "set_webhook": self._set_webhook,
            "get_account_info": self._get_account_info,
        }.get(method)
        if handler is None:
            return web.json_response({"error": f"no method {method}"}, status=404)
        if token != self.token:
            return _status(INVALID_TOKEN, "invalidAuthToken")
        if faults := self._faults.get(method):
            if faults[0].after > 0:
                faults[0].after -= 1
            else:
                return _fault(faults.pop(0))
        if not isinstance(body, dict):
            return _status(checks.BAD_DATA, "badData: Json parse error")
        return await handler(call)

    async def _send_message(self, call: ApiCall) -> web.Response:
        try:
            checks.message(call.body)
        except checks.Refusal as refusal:
            return _status(refusal.status, refusal.message)
        if call.body["receiver"] not in self.subscribers:
            return _status(NOT_SUBSCRIBED, "receiverNotSubscribed")
        call.body["_accepted"] = True
        return web.json_response(
            {
                "status": 0,
                "status_message": "ok",
                "message_token": next(self._sent_tokens),
                "chat_hostname": "SN-CHAT-01_",
            }
        )

    async def _set_webhook(self, call: ApiCall) -> web.Response:
        url = call.body.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            return _status(INVALID_URL, "invalidUrl: the webhook must be an https URL")
        try:
            status, _ = await self.deliver(url, self.webhook_event())
        except aiohttp.ClientError as exc:
            return _status(INVALID_URL, f"invalidUrl: {exc}")
        if status != 200:
            return _status(INVALID_URL, f"invalidUrl: Result[HttpResponse[{status}]]")
        self.webhook = Webhook(url, list(call.body.get("event_types") or []))
        return web.json_response(
            {"status": 0, "status_message": "ok", "event_types": self.webhook.event_types}
        )

    async def _get_account_info(self, _call: ApiCall) -> web.Response:
        return web.json_response(
            {
                "status": 0,
                "status_message": "ok",
                "id": "pa:5000000000000000001",
                "name": self.name,
                "uri": self.name.lower(),
                "webhook": self.webhook.url if self.webhook else "",
                "subscribers_count": len(self.subscribers),
            }
        )

    async def _get_media(self, request: web.Request) -> web.Response:
        content = self._media.get(request.match_info["name"])
        if content is None:
            raise web.HTTPNotFound()
        return web.Response(body=content, content_type="image/jpeg")


def _status(status: int, message: str) -> web.Response:
    return web.json_response({"status": status, "status_message": message})


def _fault(fault: Fault) -> web.Response:
    if fault.http_status is not None:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        return web.Response(status=fault.http_status, text="fault injected", headers=headers)
    return _status(fault.status or 0, fault.status_message)
