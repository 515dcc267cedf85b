"""The agents' forum supergroup of a bot inbox: one topic per ticket, the conversation mirrored.

The forum follows the bot's own inbox and the inboxes its ``mirror`` names (VK, Viber, email,
the web chat): agents answer those tickets from their topics too, and the core sends the
answer through the ticket's own channel. The forum mirrors as a group of the event bus
(``core.bus``): in order, by one process, apart from the commits, so a slow group (Telegram
allows a bot 20 messages a minute in one group) never holds up the customer's side. The topic
of a ticket is stored (core.threads) and serves the ticket again when it reopens. What agents
write in the topic itself is not mirrored back (its
events carry this forum's origin).
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bots.telegram import forum_ratings, forum_sla
from bots.telegram.limits import TelegramLimits
from core import events, threads
from core.bus import EventBus
from core.db import Database
from core.events import Event
from core.i18n import text
from core.models import TicketStatus
from settings.config import TelegramInbox

log = logging.getLogger("otklik.telegram")
TITLE_LENGTH = 128
_STATUS_MARK = {TicketStatus.WAITING: "⏸ ", TicketStatus.CLOSED: "✅ "}
_MIRRORED = {
    events.TICKET_CREATED,
    events.MESSAGE_RECEIVED,
    events.MESSAGE_SENT,
    events.NOTE_ADDED,
    events.BUTTON_PRESSED,
    events.TICKET_STATUS_CHANGED,
    *forum_ratings.MIRRORED,
}


class Forum:
    def __init__(
        self,
        bot: Bot,
        inbox: TelegramInbox,
        chat_id: int,
        db: Database,
        locale: str,
        limits: TelegramLimits,
        public_url: str,
        zone: tzinfo,
    ) -> None:
        self.bot = bot
        self.limits = limits
        self.inbox = inbox
        self.chat_id = chat_id
        self.origin = f"telegram-forum:{inbox.name}"
        self.followed = {inbox.name, *inbox.mirror}  # the inboxes whose tickets get topics
        self._public_url = public_url
        self._db = db
        self._locale = locale
        self._zone = zone  # the service's: the deadlines' local times

    def subscribe(self, bus: EventBus) -> None:
        """Mirror as the bus's group ``forum:<inbox>``: in order, away from the commits, in
        one process (the leader, with several), again if it failed (the bus logs why)."""
        bus.subscribe(self._mirror, _MIRRORED, group=f"forum:{self.inbox.name}")

    async def _mirror(self, event: Event) -> None:
        data = event.data
        if data.get("origin") == self.origin or data.get("inbox", {}).get("name") not in (
            self.followed
        ):
            return
        thread = await self._thread(event)
        message = data.get("message", {})
        t = self._text
        agent = (data.get("agent") or {}).get("name") or t("telegram.bot")  # unset: the rules
        if event.name == events.TICKET_CREATED:
            if deadlines := await forum_sla.line(
                self._db, self._locale, self._zone, event.ticket_id or 0
            ):
                await self._say(thread, deadlines)
        elif event.name == events.MESSAGE_RECEIVED:
            await self._say(thread, f"👤 {data['customer']['name']}:\n{message['text']}")
            if data["inbox"]["name"] == self.inbox.name:
                await self._files(thread, message.get("attachments", []))
            elif links := self._links(message):
                await self._say(thread, links)
        elif event.name == events.MESSAGE_SENT:
            await self._say(thread, f"💬 {agent}:\n{message['text']}")
        elif event.name == events.NOTE_ADDED:
            await self._say(thread, f"📝 {agent} ({t('telegram.note')}):\n{message['text']}")
        elif event.name == events.BUTTON_PRESSED:
            await self._say(thread, f"🔘 {data['customer']['name']}: {data['button']['label']}")
        elif event.name == events.TICKET_STATUS_CHANGED:
            await self._retitle(thread, data)
        elif event.name in forum_ratings.MIRRORED:
            await self._say(thread, forum_ratings.line(self._locale, event.name, data))

    def _text(self, key: str) -> str:
        return text(self._locale, key)

    async def _thread(self, event: Event) -> threads.Thread:
        """The ticket's topic, opened now if it has none yet."""
        found = await threads.for_ticket(self._db, self.inbox.name, event.ticket_id or 0)
        if found:
            return found
        title = self._title(event.data)
        topic = await self.bot.create_forum_topic(chat_id=self.chat_id, name=title)
        thread = threads.Thread(
            ticket_id=event.ticket_id or 0,
            ticket_number=event.data["ticket"]["number"],
            chat_id=str(self.chat_id),
            thread_id=str(topic.message_thread_id),
            title=title,
        )
        await threads.remember(self._db, self.inbox.name, thread)
        return thread

    def _title(self, data: dict[str, Any]) -> str:
        """The topic's title; a mirrored inbox's tickets are named by their inbox."""
        inbox = data["inbox"]["name"]
        return title_of(data, None if inbox == self.inbox.name else inbox)

    async def _retitle(self, thread: threads.Thread, data: dict[str, Any]) -> None:
        title = self._title(data)
        if title != thread.title:
            await self.bot.edit_forum_topic(
                chat_id=self.chat_id, message_thread_id=int(thread.thread_id), name=title
            )
            await threads.retitle(self._db, self.inbox.name, thread.ticket_id, title)

    async def _say(self, thread: threads.Thread, words: str) -> None:
        async with self.limits.sending(self.chat_id):
            await self.bot.send_message(
                chat_id=self.chat_id, message_thread_id=int(thread.thread_id), text=words[:4096]
            )

    def _links(self, message: dict[str, Any]) -> str:
        """A mirrored inbox's files as links: the platform's address, else the web inbox's
        (agents signed in there open it); a file with neither is named only."""
        lines = []
        for index, item in enumerate(message.get("attachments", [])):
            name = item.get("name") or item.get("kind") or "file"
            if item.get("url"):
                lines.append(f"📎 {name}: {item['url']}")
            elif item.get("file_id"):
                link = f"{self._public_url}/inbox/messages/{message['id']}/files/{index}"
                lines.append(f"📎 {name}: {link}")
            else:
                lines.append(f"📎 {name}")
        return "\n".join(lines)

    async def _files(self, thread: threads.Thread, attachments: list[dict[str, Any]]) -> None:
        """The customer's files, by the ids Telegram gave this bot (no download needed)."""
        for item in attachments:
            file_id, kind = item.get("file_id"), item.get("kind")
            if not file_id:
                continue
            target = {"chat_id": self.chat_id, "message_thread_id": int(thread.thread_id)}
            try:
                await self._send_file(kind, file_id, target)
            except TelegramAPIError as exc:
                log.warning("inbox %s: file %s not relayed: %s", self.inbox.name, file_id, exc)

    async def _send_file(self, kind: str | None, file_id: str, target: dict[str, Any]) -> None:
        async with self.limits.sending(self.chat_id):
            if kind == "image":
                await self.bot.send_photo(photo=file_id, **target)
            elif kind == "voice":
                await self.bot.send_voice(voice=file_id, **target)
            elif kind == "sticker":
                await self.bot.send_sticker(sticker=file_id, **target)
            else:
                await self.bot.send_document(document=file_id, **target)


def title_of(data: dict[str, Any], inbox: str | None = None) -> str:
    """``#1042 · Ivan Petrov · first words`` (``#1042 · vk · Ivan Petrov · …`` with the
    ``inbox`` named), with a mark for waiting and closed tickets."""
    ticket = data["ticket"]
    mark = _STATUS_MARK.get(ticket["status"], "")
    where = f"{inbox} · " if inbox else ""
    title = f"{mark}#{ticket['number']} · {where}{data['customer']['name']} · {ticket['subject']}"
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"
