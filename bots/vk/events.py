"""One VK update, from the Callback API or Long Poll alike, handed to the core.

``handle`` returns once the update is stored (or known to need nothing), so the webhook may
answer "ok" and the long poll may move on; an error raises, and VK delivers the update again.
The same ``event_id`` seen again is skipped here; a message or press VK sends again under a
new one is stored once by the core (by its dialog and number, or the press's event id).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError

from bots.vk import presses, translate
from bots.vk.api import VkApi
from bots.vk.delivery import SentKeyboards, say
from bots.vk.names import Names
from bots.vk.translate import MessageDeny, MessageEvent, MessageNew, VkMessage
from core.desk import Desk
from core.errors import InvalidInput, NotFound
from core.i18n import text
from core.seen import Seen
from settings.config import VkInbox

log = logging.getLogger("otklik.vk")
HANDLED = ("message_new", "message_edit", "message_event", "message_allow", "message_deny")
BLOCKED = "blocked messages from the community"


class BadUpdate(ValueError):
    """An update VK could not have meant: it is refused (400) and nothing is stored."""


class VkEvents:
    def __init__(
        self,
        inbox: VkInbox,
        desk: Desk,
        api: VkApi,
        shown: SentKeyboards,
        locale: str,
        seen: Seen,
    ) -> None:
        self.inbox = inbox
        self.desk = desk
        self.api = api
        self.shown = shown
        self.locale = locale
        self.names = Names(api)
        self.seen = seen

    async def handle(self, update: dict[str, Any]) -> None:
        """Handle an update once; raises BadUpdate for one that cannot be read."""
        kind = update.get("type")
        event_id = update.get("event_id")
        if not isinstance(kind, str):
            raise BadUpdate('"type": expected the event type, a string')
        if update.get("group_id") != self.inbox.group_id:
            raise BadUpdate(f'"group_id": expected {self.inbox.group_id}')
        if isinstance(event_id, str) and await self.seen.seen(event_id):
            log.info("event %s seen before, skipped", event_id)
            return
        if kind in HANDLED:
            await self._dispatch(kind, update.get("object"))
        else:
            log.info("inbox %s: %s events are not used, ignored", self.inbox.name, kind)
        if isinstance(event_id, str):
            await self.seen.mark(event_id)

    async def _dispatch(self, kind: str, body: Any) -> None:
        if kind == "message_new":
            await self.wrote(_read(MessageNew, kind, body).message)
        elif kind == "message_edit":
            await self.edited(_read(VkMessage, kind, body))
        elif kind == "message_event":
            await presses.pressed(
                _read(MessageEvent, kind, body),
                inbox=self.inbox.name,
                desk=self.desk,
                api=self.api,
                shown=self.shown,
                locale=self.locale,
            )
        elif kind == "message_deny":
            user = _read(MessageDeny, kind, body).user_id
            await self.desk.unreachable(self.inbox.name, str(user), BLOCKED)
        else:  # message_allow: writing again is what makes a customer reachable
            log.info("inbox %s: a customer allowed messages", self.inbox.name)

    async def wrote(self, message: VkMessage) -> None:
        if not message.private or message.from_id <= 0:
            log.info("message in dialog %s is not a customer's, ignored", message.peer_id)
            return
        if message.starts:
            await say(self.api, message.peer_id, self._text_greeting(), f"start:{message.key}")
            return
        name = await self.names.of(message.from_id)
        try:
            await self.desk.receive(translate.inbound(self.inbox.name, message, name))
        except InvalidInput:
            # A location, a poll with no text…: nothing an agent could answer; say so.
            words = text(self.locale, "vk.unsupported")
            await say(self.api, message.peer_id, words, f"unsupported:{message.key}")

    async def edited(self, message: VkMessage) -> None:
        if not message.private or message.from_id != message.peer_id:
            return  # the community's own messages are edited by us
        try:
            await self.desk.edit(translate.edit(self.inbox.name, message))
        except NotFound:
            log.info("edit of message %s, which was never stored, ignored", message.key)

    def _text_greeting(self) -> str:
        return str(getattr(self.inbox.greeting, self.locale))


def _read(model: type[BaseModel], kind: str, body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = "; ".join(
            f"object.{'.'.join(str(p) for p in e['loc']) or '(whole)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise BadUpdate(f"{kind}: {where}") from None
