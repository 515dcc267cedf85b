"""What each Viber callback does; every one is handled before the webhook answers 200.

``message`` is a customer's message, or a press when its text is a button's ActionBody (never
stored as text); one delivered again is skipped once handled. ``unsubscribed`` marks the
customer unreachable; ``conversation_started`` answers with the greeting (Viber shows a
welcome message given in the response body); ``webhook``, ``subscribed``, ``delivered``,
``seen`` and ``failed`` store nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from bots.viber import translate
from bots.viber.api import ViberApi, ViberError
from bots.viber.delivery import CAPABILITIES, message
from bots.viber.keyboards import pressed
from bots.viber.wire import Callback
from core.desk import Desk
from core.errors import ButtonRefused, InvalidInput
from core.i18n import text
from core.messages import Press
from core.presses import chosen_before
from core.seen import Seen
from settings.config import ViberInbox

log = logging.getLogger("otklik.viber")
UNSUBSCRIBED = "unsubscribed from the bot"


class Callbacks:
    def __init__(
        self, inbox: ViberInbox, desk: Desk, api: ViberApi, locale: str, seen: Seen
    ) -> None:
        self.inbox = inbox
        self.desk = desk
        self.api = api
        self.locale = locale
        self.seen = seen

    async def handle(self, callback: Callback) -> dict[str, Any] | None:
        """Handle one callback; what is returned becomes the response body."""
        if callback.event == "message":
            token = str(callback.message_token)
            if await self.seen.seen(token):
                log.info("inbox %s: message %s seen before, skipped", self.inbox.name, token)
                return None
            await self.message(callback)
            await self.seen.mark(token)
        elif callback.event == "unsubscribed":
            assert callback.user_id is not None
            await self.desk.unreachable(self.inbox.name, callback.user_id, UNSUBSCRIBED)
        elif callback.event == "conversation_started":
            return self.greeting()
        elif callback.event == "failed":
            log.warning(
                "inbox %s: Viber could not deliver message %s to %s: %s",
                self.inbox.name,
                callback.message_token,
                callback.user_id,
                callback.desc,
            )
        else:  # webhook, subscribed, delivered, seen, and events Viber may add
            log.debug("inbox %s: %s callback", self.inbox.name, callback.event)
        return None

    def greeting(self) -> dict[str, Any]:
        return {
            "sender": {"name": self.inbox.sender_name},
            "type": "text",
            "text": getattr(self.inbox.greeting, self.locale),
        }

    async def message(self, callback: Callback) -> None:
        assert callback.sender is not None and callback.message is not None
        customer = callback.sender.id
        button_id = pressed(callback.message.text) if callback.message.type == "text" else None
        if button_id is not None:
            await self.press(customer, button_id, str(callback.message_token))
            return
        try:
            await self.desk.receive(translate.inbound(self.inbox.name, callback))
        except InvalidInput as exc:  # an empty message: nothing to store, retrying cannot help
            log.warning("inbox %s: message %s not stored: %s", self.inbox.name, customer, exc)

    async def press(self, customer: str, button_id: str, token: str) -> None:
        """Viber cannot edit the message: the first press of a button counts, a later press
        of it (core/presses.py, chosen_before) or a refused one gets a short answer."""
        try:
            got = await self.desk.press(
                Press(self.inbox.name, customer, button_id, platform_event_id=token)
            )
        except ButtonRefused as exc:
            await self.say(customer, text(self.locale, exc.key or "viber.refused"))
            return
        if chosen_before(got, CAPABILITIES):
            await self.say(customer, text(self.locale, "press.chosen_before"))

    async def say(self, customer: str, words: str) -> None:
        """A short answer outside any ticket; a failure is logged (the press is stored)."""
        try:
            await self.api.call("send_message", message(customer, self.inbox.sender_name, words))
        except ViberError as exc:
            log.warning("inbox %s: could not answer %s: %s", self.inbox.name, customer, exc)
