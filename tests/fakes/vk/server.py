"""``FakeVk``: the emulator's server: routing, recorded calls, faults, customers' messages and
button presses, and their delivery by long poll or to a Callback API address."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.vk.methods import VkMethods
from tests.fakes.vk.model import Call, Fault, Json, StoredMessage, VkError, VkUser

API_VERSION = "5.199"


class FakeVk(VkMethods):
    """The VK API of one community (``token``, ``group_id``) on 127.0.0.1.

    ``base_url`` is what ``api_url`` should name; ``calls`` records every API call;
    ``fail_next`` injects errors; ``message_new`` / ``message_event`` build events for a
    customer, ``push`` queues them for the long poll and ``post`` sends them to a Callback
    API address as VK would.
    """

    def __init__(self, token: str, group_id: int, secret: str | None = None) -> None:
        self.token = token
        self.group_id = group_id
        self.secret = secret
        self.calls: list[Call] = []
        self.users: dict[int, VkUser] = {}
        self.denied: set[int] = set()
        self.dialogs: dict[int, list[StoredMessage]] = {}
        self.issued_events: dict[str, tuple[int, int]] = {}
        self.event_answers: list[Json] = []
        self.under_input: dict[int, Json] = {}  # a dialog's keyboard under the input field
        self.polls = 0
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._events = itertools.count(1)
        self._queue: list[Json] = []  # long poll history: update number ts-1 is _queue[ts-1]
        self._first_ts = 1
        self._acked = 1  # the ts the client last asked from: it moved past what came before
        self._key = "key-1"
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeVk:
        app = web.Application()
        app.router.add_route("*", "/method/{method}", self._api)
        app.router.add_get("/lp/{group}", self._long_poll)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        assert self._base, "FakeVk is not started"
        return f"{self._base}/method"

    # -- the community's world -------------------------------------------------------------

    def add_user(self, user: VkUser) -> VkUser:
        self.users[user.id] = user
        return user

    def deny(self, user_id: int) -> None:
        """The user forbids messages from the community: sending answers error 901."""
        self.denied.add(user_id)

    def fail_next(
        self, method: str, code: int | None = None, *, lose_answer: bool = False, after: int = 0
    ) -> None:
        """The next call of ``method`` fails (once ``after`` calls of it went through)."""
        self._faults.append(Fault(method, code, lose_answer, after=after))

    def expire_key(self) -> None:
        """The long poll key expires: the next check answers ``failed: 2``."""
        self._key = f"key-{next(self._ids)}"

    def params_of(self, method: str) -> list[Json]:
        return [c.params for c in self.calls if c.method == method]

    def sent_to(self, peer_id: int) -> list[StoredMessage]:
        """The community's messages in a dialog, each once however often it was sent."""
        return [m for m in self.dialogs.get(peer_id, []) if m.from_id == -self.group_id]

    # -- events --------------------------------------------------------------------------------

    def envelope(self, kind: str, body: Json) -> Json:
        update = {
            "type": kind,
            "event_id": f"evt{next(self._events):08x}",
            "v": API_VERSION,
            "object": body,
            "group_id": self.group_id,
        }
        return update

    def message_new(
        self, user: VkUser, text: str, attachments: list[Json] | None = None, **extra: Any
    ) -> Json:
        message = self._new_message(user.id, user.id, text)
        body = {
            "message": {
                "date": 1_700_000_000 + message.id,
                "from_id": user.id,
                "id": message.id,
                "out": 0,
                "peer_id": user.id,
                "text": text,
                "conversation_message_id": message.cmid,
                "attachments": attachments or [],
                "is_hidden": False,
                **extra,
            },
            "client_info": {
                "button_actions": ["text", "callback", "open_link"],
                "keyboard": True,
                "inline_keyboard": True,
                "lang_id": 0,
            },
        }
        return self.envelope("message_new", body)

    def message_event(self, user: VkUser, message: StoredMessage, payload: Any) -> Json:
        """A press of a callback button of ``message`` (``payload`` as the client sends it)."""
        event_id = f"press{next(self._events):06x}"
        self.issued_events[event_id] = (user.id, message.peer_id)
        body = {
            "user_id": user.id,
            "peer_id": message.peer_id,
            "event_id": event_id,
            "payload": payload,
            "conversation_message_id": message.cmid,
        }
        return self.envelope("message_event", body)

    def push(self, update: Json) -> None:
        self._queue.append(update)
        self._arrived.set()

    def pending(self) -> int:
        """Updates the long poll client has not moved past yet."""
        return len(self._queue) - (self._acked - self._first_ts)

    async def post(self, url: str, update: Json, secret: str | None = "") -> tuple[int, str]:
        """POST ``update`` to a Callback API address with the secret (VK's way); the answer."""
        body = dict(update)
        chosen = self.secret if secret == "" else secret
        if chosen is not None:
            body["secret"] = chosen
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
            return response.status, await response.text()

    def _new_message(self, peer_id: int, from_id: int, text: str, **kw: Any) -> StoredMessage:
        dialog = self.dialogs.setdefault(peer_id, [])
        message = StoredMessage(next(self._ids), peer_id, len(dialog) + 1, from_id, text, **kw)
        dialog.append(message)
        return message

    # -- HTTP --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: Json = dict(request.query)
        if request.method == "POST":
            params.update(await request.post())
        self.calls.append(Call(method, {k: v for k, v in params.items() if k != "access_token"}))
        try:
            result = self._run(method, params)
        except VkError as exc:
            return web.json_response(exc.envelope(method, params))
        except _LostAnswer:
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        return web.json_response({"response": result})

    def _run(self, method: str, params: Json) -> Any:
        if params.get("access_token") != self.token:
            raise VkError(5)
        if not params.get("v"):
            raise VkError(8, "Invalid request: v (version) is required")
        handler = self.handler(method)
        if handler is None:
            raise VkError(3, f"Unknown method passed: {method}")
        fault = next((f for f in self._faults if f.method == method), None)
        if fault is not None and fault.after > 0:
            fault.after -= 1
            fault = None
        elif fault is not None:
            self._faults.remove(fault)
            if fault.code is not None:
                raise VkError(fault.code)
        result = handler(params)
        if fault is not None and fault.lose_answer:
            raise _LostAnswer
        return result

    def _longpoll_server(self) -> Json:
        assert self._base
        return {
            "key": self._key,
            "server": f"{self._base}/lp/{self.group_id}",
            "ts": str(self._first_ts + len(self._queue)),
        }

    async def _long_poll(self, request: web.Request) -> web.Response:
        self.polls += 1
        query = request.query
        if query.get("act") != "a_check" or query.get("key") != self._key:
            return web.json_response({"failed": 2})
        try:
            ts = int(query["ts"])
        except (KeyError, ValueError):
            return web.json_response({"failed": 1, "ts": str(self._first_ts + len(self._queue))})
        self._acked = max(self._acked, ts)
        wait = min(float(query.get("wait", 25)), 90)
        if ts - self._first_ts >= len(self._queue):
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        updates = json.loads(json.dumps(self._queue[ts - self._first_ts :]))
        return web.json_response({"ts": str(self._first_ts + len(self._queue)), "updates": updates})


class _LostAnswer(Exception):
    pass
