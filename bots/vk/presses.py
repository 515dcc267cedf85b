"""Callback button presses (``message_event``): recorded by the core, answered at once with
``messages.sendMessageEventAnswer`` (the client shows a spinner until then), and, on the first
valid press, the message edited to show the choice instead of the keyboard."""

from __future__ import annotations

import json
import logging

import aiohttp
from vkbottle import VKAPIError

from bots.vk import keyboards
from bots.vk.api import VkApi, VkUnavailable
from bots.vk.delivery import MAX_TEXT, SentKeyboards
from bots.vk.translate import MessageEvent
from core.desk import Desk
from core.errors import ButtonRefused
from core.i18n import text
from core.messages import Press

log = logging.getLogger("otklik.vk")
_VK_FAILED = (TimeoutError, VKAPIError, aiohttp.ClientError, VkUnavailable)
MAX_SNACKBAR = 90


async def pressed(
    event: MessageEvent,
    *,
    inbox: str,
    desk: Desk,
    api: VkApi,
    shown: SentKeyboards,
    locale: str,
) -> None:
    button = keyboards.button_id(event.payload)
    if button is None:
        await _answer(api, event, text(locale, "vk.refused"))
        return
    try:
        got = await desk.press(
            Press(inbox, str(event.peer_id), button, platform_event_id=event.event_id)
        )
    except ButtonRefused as exc:
        log.info("press of %s in dialog %s refused: %s", button, event.peer_id, exc)
        await _answer(api, event, text(locale, exc.key or "vk.refused"))
        return
    if got.duplicate or not got.first_press:
        await _answer(api, event, text(locale, "vk.already"))
        return
    await _answer(api, event, None)
    await _show_choice(api, event, button, shown)


async def _answer(api: VkApi, event: MessageEvent, snackbar: str | None) -> None:
    """Stop the client waiting; a short text (at most 90 characters) shows as a snackbar. An
    answer VK refuses (the event is older than a minute) changes nothing: the press is stored
    either way."""
    data = None
    if snackbar:
        shown = snackbar if len(snackbar) <= MAX_SNACKBAR else snackbar[: MAX_SNACKBAR - 1] + "…"
        data = json.dumps({"type": "show_snackbar", "text": shown})
    try:
        await api.call(
            "messages.sendMessageEventAnswer",
            event_id=event.event_id,
            user_id=event.user_id,
            peer_id=event.peer_id,
            event_data=data,
        )
    except _VK_FAILED as exc:
        log.info("event %s could not be answered: %s", event.event_id, exc)


async def _show_choice(api: VkApi, event: MessageEvent, button: str, shown: SentKeyboards) -> None:
    """Replace the keyboard by the choice made (a keyboard under the input field stays until
    our next message: an edit cannot take it away). A message sent before the service
    restarted is not remembered and keeps its keyboard; a later press of it is answered as
    such."""
    sent = shown.get(event.peer_id, event.conversation_message_id)
    if sent is None or button not in sent.labels:
        log.info("message %s:%s keeps its keyboard", event.peer_id, event.conversation_message_id)
        return
    choice = f"\n\n✅ {sent.labels[button]}"
    try:
        await api.call(
            "messages.edit",
            peer_id=event.peer_id,
            conversation_message_id=event.conversation_message_id,
            message=sent.text[: MAX_TEXT - len(choice)] + choice,
            keyboard=keyboards.EMPTY if sent.inline else None,
        )
    except _VK_FAILED as exc:
        log.info("message %s could not be edited after a press: %s", event.peer_id, exc)
