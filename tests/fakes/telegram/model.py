"""What the fake Telegram keeps: users, chats, files, topics, webhooks, faults, bots and
the sliding windows of its flood limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from tests.fakes.telegram.wire import ApiError, Json, Params, without_none

TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class TgUser:
    id: int
    first_name: str = "Alice"
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> Json:
        return without_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


@dataclass
class TgChat:
    id: int
    type: str  # private, group, supergroup or channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False

    @classmethod
    def private(cls, user: TgUser) -> TgChat:
        return cls(user.id, "private", None, user.username, user.first_name, user.last_name)

    @classmethod
    def forum(cls, chat_id: int, title: str = "Support") -> TgChat:
        return cls(chat_id, "supergroup", title=title, is_forum=True)

    @classmethod
    def from_dict(cls, data: Json) -> TgChat:
        names = ("title", "username", "first_name", "last_name")
        return cls(
            data["id"],
            data["type"],
            **{name: data.get(name) for name in names},
            is_forum=bool(data.get("is_forum")),
        )

    def to_dict(self) -> Json:
        chat = {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }
        return without_none(chat) | ({"is_forum": True} if self.is_forum else {})


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice or sticker
    content: bytes
    file_path: str
    meta: Json = field(default_factory=dict)

    def describe(self) -> Json:
        """The file as Telegram shows it in a message (PhotoSize, Document, Voice, Sticker)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            **self.meta,
        }


@dataclass
class Topic:
    message_thread_id: int
    name: str
    icon_color: int
    created: Json  # the service message with forum_topic_created
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def describe(self) -> Json:
        """The topic as a ForumTopic object."""
        topic = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
            "icon_custom_emoji_id": self.icon_custom_emoji_id,
        }
        return without_none(topic)

    def message_fields(self) -> Json:
        """What a message in the topic carries; Telegram makes it reply to the topic's start."""
        return {
            "message_thread_id": self.message_thread_id,
            "is_topic_message": True,
            "reply_to_message": self.created,
        }


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Fault:
    method: str  # lower case: Telegram's method names are case-insensitive
    error: ApiError
    times: int
    chat_id: int | str | None = None
    token: str | None = None
    after: int = 0  # matching calls let through before it fails

    def matches(self, token: str, method: str, params: Params) -> bool:
        return (
            self.method == method.lower()
            and self.token in (None, token)
            and (self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id))
        )


@dataclass
class BotState:
    """What Telegram keeps per bot: its user, update queue, webhook and who blocked it."""

    token: str
    user: TgUser
    updates: list[Json] = field(default_factory=list)
    next_update_id: int = 1
    webhook: Webhook = field(default_factory=Webhook)
    allowed_updates: list[str] | None = None
    blocked_by: set[int] = field(default_factory=set)
    callback_queries: dict[str, float] = field(default_factory=dict)
    poll_generation: int = 0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        """Wake the long poll waiting for updates."""
        self.wakeup.set()
        self.wakeup = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self.wakeup
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def start_poll(self) -> int:
        """A new getUpdates request ends the one waiting, as Telegram does."""
        self.poll_generation += 1
        self.notify()
        return self.poll_generation

    def confirm(self, offset: int | None) -> None:
        """Drop updates below ``offset``; a negative offset keeps only the last ``-offset``."""
        if not offset:
            return
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [update for update in self.updates if update["update_id"] >= offset]

    def deliverable(self, limit: int | None = None) -> list[Json]:
        """Pending updates of the allowed types; the others are dropped, never delivered."""
        self.updates = [update for update in self.updates if self._allowed(update)]
        return self.updates[:limit]

    def _allowed(self, update: Json) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in NOT_DELIVERED_BY_DEFAULT


class SlidingWindow:
    """At most ``limit`` events per key within any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._events: dict[Hashable, deque[float]] = {}

    def wait_time(self, key: Hashable, now: float) -> float:
        """Seconds until one more event is allowed; 0 when it is allowed now."""
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.period:
            events.popleft()
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.period - now

    def add(self, key: Hashable, now: float) -> None:
        self._events.setdefault(key, deque()).append(now)
