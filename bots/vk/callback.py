"""The Callback API: VK POSTs each event to ``/webhooks/vk/{inbox}`` and wants ``ok`` back.

- ``confirmation`` (when the server address is saved in the community's settings) is
  answered with the configured confirmation string, for our community only.
- Every other event must carry the configured ``secret`` (compared in constant time): a wrong
  or missing one gets 403 and nothing is stored.
- ``ok`` is answered only once the event is stored; an error answers 500 and VK sends the
  event again. A body that is not an event gets 400; an event type we do not use gets ``ok``
  (VK would otherwise send it again and again).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from bots.vk.events import BadUpdate, VkEvents
from settings.config import VkInbox


async def receive(request: web.Request, inbox: VkInbox, events: VkEvents) -> web.Response:
    update = _update(await request.read())
    if update.get("type") == "confirmation":
        if update.get("group_id") != inbox.group_id or not inbox.confirmation:
            raise web.HTTPForbidden(text=f"this address serves VK community {inbox.group_id}")
        return web.Response(text=inbox.confirmation)
    given = update.get("secret")
    expected = inbox.secret or ""
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise web.HTTPForbidden(text="wrong or missing secret")
    try:
        await events.handle(update)
    except BadUpdate as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.Response(text="ok")


def _update(body: bytes) -> dict[str, Any]:
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"malformed JSON: {exc}") from None
    if not isinstance(update, dict):
        raise web.HTTPBadRequest(text="expected a JSON object, a VK event")
    return update
