"""An emulator of the Telegram Bot API over HTTP, so tests never reach Telegram.

``FakeTelegram`` serves ``{base_url}/bot{token}/{method}`` and
``GET {base_url}/file/bot{token}/{file_path}`` on 127.0.0.1. Production code talks to it
through a real aiogram ``Bot`` whose session points at it::

    async with FakeTelegram("123456:ABC") as telegram:
        api = TelegramAPIServer.from_base(telegram.base_url)
        bot = Bot("123456:ABC", session=AiohttpSession(api=api))
        alice = TgUser(42, "Alice")
        telegram.push_update("123456:ABC", telegram.text_message("123456:ABC", alice, "hi"))
        ...  # the code under test polls, answers
        assert telegram.params_of("sendMessage")[-1]["text"] == "Hello!"

Requests are read the way Telegram reads them: query string, urlencoded or multipart form
(aiogram's choice) or a JSON body. Form values arrive as strings; they are JSON-decoded
except for the parameters that are plain strings (text, caption, file ids...). Uploaded
files become ``Upload`` values, also where aiogram refers to them as ``attach://<field>``.

Emulated: getMe; getUpdates long polling with offsets; webhooks (remembered, and delivered on
demand by ``deliver_webhook``); sending text, photos, documents, voice, stickers; copying,
editing and deleting messages; callback query answers; forum topics; files; getChat. What
matters to us is validated as Telegram does: text length and emptiness, HTML markup, inline
keyboards, replies, topics, file ids, tokens, method names. Faults can be injected
(``fail_next``), users can block a bot (``block``), and flood limits can be enforced
(``enforce_limits``). Not emulated: MarkdownV2 parsing, inline mode, media groups, payments.

Chats the fake has not seen are created on first use: positive ids are private chats, ids
below -1000000000000 forum supergroups, other negative ids basic groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import Any, ClassVar, NamedTuple

import aiohttp
from aiohttp import web

Json = dict[str, Any]
Params = dict[str, Any]

MAX_TEXT_LENGTH = 4096  # UTF-16 code units of the text after entity parsing
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CALLBACK_ANSWER_SECONDS = 15.0
MESSAGES_PER_SECOND = 30
PRIVATE_CHAT_MESSAGES_PER_SECOND = 1
GROUP_MESSAGES_PER_MINUTE = 20
SUPERGROUP_IDS_BELOW = -1_000_000_000_000
TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
BUTTON_URL = re.compile(r"(https?|tg)://\S+")

# Parameters Telegram takes as plain strings; every other form value is JSON.
STRING_PARAMS = frozenset(
    {
        "action",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "description",
        "document",
        "emoji",
        "file_id",
        "icon_custom_emoji_id",
        "inline_message_id",
        "ip_address",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "photo",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "title",
        "url",
        "video",
        "video_note",
        "voice",
    }
)
MESSAGE_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
ACKNOWLEDGED_METHODS = (
    "sendchataction",
    "setmycommands",
    "deletemycommands",
    "setmydescription",
    "setmyshortdescription",
    "setchatmenubutton",
)
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
COPIED_CONTENT = (
    "text",
    "entities",
    "photo",
    "document",
    "voice",
    "sticker",
    "video",
    "audio",
    "caption",
    "caption_entities",
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
POLL_TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer of the Bot API, sent with the HTTP status ``error_code``."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> Json:
        body: Json = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def default_description(error_code: int) -> str:
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
    }.get(error_code, f"Error {error_code}")


class ApiCall(NamedTuple):
    """One request as the fake received it, whatever it answered."""

    token: str
    method: str
    params: Params


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class TgUser:
    id: int
    first_name: str = "Alice"
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> Json:
        return _without_none(
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
        return _without_none(chat) | ({"is_forum": True} if self.is_forum else {})


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
        return _without_none(topic)

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


class _HtmlParser:
    """Telegram's HTML parse mode: visible text and entities, or Telegram's parse errors."""

    TAGS: ClassVar[dict[str, str]] = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "a": "text_link",
        "code": "code",
        "pre": "pre",
        "blockquote": "blockquote",
        "tg-emoji": "custom_emoji",
    }
    NAMED: ClassVar[dict[str, str]] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    TOKEN = re.compile(
        r"<(?P<closing>/?)(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>[^<>]*)>"
        r"|&(?P<entity>#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);"
        r"|(?P<stray><)"
    )
    ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 code units, as entity offsets count
        self.open: list[tuple[str, dict[str, str], int]] = []
        self.entities: list[Json] = []

    def parse(self) -> tuple[str, list[Json]]:
        position = 0
        for match in self.TOKEN.finditer(self.source):
            self._add_text(self.source[position : match.start()])
            position = match.end()
            if match["entity"]:
                self._add_text(self._entity(match["entity"]))
            elif match["tag"]:
                self._tag(match)
            else:
                raise self._error("Unsupported start tag", match.start())
        self._add_text(self.source[position:])
        if self.open:
            unclosed = f'"{self.open[-1][0]}"'
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag {unclosed}"
            )
        entities = sorted(self.entities, key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), entities

    def _add_text(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_length(text)

    def _entity(self, name: str) -> str:
        if name.startswith("#"):
            number = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(number) if number <= 0x10FFFF else "\ufffd"
        return self.NAMED.get(name, f"&{name};")

    def _tag(self, match: re.Match[str]) -> None:
        name = match["tag"].lower()
        if match["closing"]:
            self._close(name, match.start())
            return
        attrs = {
            found[1].lower(): next((value for value in found.groups()[1:] if value), "")
            for found in self.ATTRIBUTE.finditer(match["attrs"])
        }
        if name not in self.TAGS or (name == "span" and attrs.get("class") != "tg-spoiler"):
            raise self._error(f'Unsupported start tag "{name}"', match.start())
        self.open.append((name, attrs, self.length))

    def _close(self, name: str, at: int) -> None:
        if not self.open:
            raise self._error("Unexpected end tag", at)
        opened, attrs, start = self.open.pop()
        if opened != name:
            expected = f', expected "</{opened}>", found "</{name}>"'
            raise self._error("Unmatched end tag", at, expected)
        if self.length > start:
            self.entities.append(self._entity_for(opened, attrs, start))

    def _entity_for(self, tag: str, attrs: dict[str, str], start: int) -> Json:
        entity: Json = {"type": self.TAGS[tag], "offset": start, "length": self.length - start}
        if tag == "a":
            entity["url"] = attrs.get("href", "")
        if tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        return entity

    def _error(self, what: str, at: int, details: str = "") -> ApiError:
        offset = len(self.source[:at].encode())
        return bad_request(f"can't parse entities: {what} at byte offset {offset}{details}")


def parse_html(source: str) -> tuple[str, list[Json]]:
    return _HtmlParser(source).parse()


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _without_none(data: Json) -> Json:
    return {key: value for key, value in data.items() if value is not None}


def _without_reply(message: Json) -> Json:
    """Telegram never nests a reply inside the message replied to."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _now() -> int:
    return int(time.time())


def _bot_id(token: str) -> int:
    bot_id, _, secret = token.partition(":")
    if not bot_id.isdigit() or not secret:
        raise ValueError(f"not a bot token: {token!r}")
    return int(bot_id)


def _formatted(source: Any, parse_mode: Any, entities: Any, key: str, entities_key: str) -> Json:
    """Text or caption as it appears in the message: markup parsed into entities."""
    if not isinstance(source, str) or not source:
        return {}
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        source, entities = parse_html(source)
    fields: Json = {key: source}
    if entities:
        fields[entities_key] = entities
    return fields


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not BUTTON_URL.fullmatch(str(url)):
        raise bad_request("BUTTON_URL_INVALID")
    if not any(action in button for action in BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def _reply_markup(params: Params) -> Json:
    """The message's reply_markup field: inline keyboards are shown in it, others are not."""
    markup = params.get("reply_markup")
    if markup is None:
        return {}
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return {}
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request('can\'t parse inline keyboard: field "inline_keyboard" must be an Array')
    for row in keyboard:
        for button in row:
            _check_button(button)
    return {"reply_markup": markup}


def _message_text(params: Params) -> Json:
    fields = _formatted(
        params.get("text"), params.get("parse_mode"), params.get("entities"), "text", "entities"
    )
    text = fields.get("text", "")
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return fields


def _caption(params: Params) -> Json:
    fields = _formatted(
        params.get("caption"),
        params.get("parse_mode"),
        params.get("caption_entities"),
        "caption",
        "caption_entities",
    )
    if utf16_length(fields.get("caption", "")) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return fields


def _decode(key: str, value: Any, uploads: dict[str, Upload], used: set[str]) -> Any:
    if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
        used.add(value[9:])
        return uploads[value[9:]]
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> Params:
    """Parameters from the query string and the body, the way the Bot API accepts them."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json" and request.can_read_body:
        raw.update(await request.json())
    elif request.can_read_body:
        raw.update((await request.post()).items())
    uploads = {
        key: Upload(value.filename, value.file.read(), value.content_type)
        for key, value in raw.items()
        if isinstance(value, web.FileField)
    }
    used: set[str] = set()
    params = {
        key: _decode(key, value, uploads, used) for key, value in raw.items() if key not in uploads
    }
    params.update({key: upload for key, upload in uploads.items() if key not in used})
    return params


class FakeTelegram:
    """The Bot API for the given bot tokens, served on 127.0.0.1 while the context is open.

    ``calls`` records every request; ``fail_next`` injects errors; ``push_update`` queues
    updates built by ``text_message``, ``photo_message``, ``callback_query`` and the like.
    ``clock`` (monotonic seconds) drives the flood limits and callback query expiry.
    """

    def __init__(
        self,
        *tokens: str,
        enforce_limits: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.calls: list[ApiCall] = []
        self.too_many_requests = 0
        self.bots: dict[str, BotState] = {}
        self.chats: dict[int, TgChat] = {}
        self._implicit_chats: set[int] = set()
        self._clock = clock
        self._ids = itertools.count(1)
        self._messages: dict[tuple[str, int, int], Json] = {}
        self._message_ids: dict[tuple[str | None, int], int] = {}
        self._topics: dict[tuple[int, int], Topic] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._faults: list[Fault] = []
        self._per_bot = SlidingWindow(MESSAGES_PER_SECOND, 1.0)
        self._per_private_chat = SlidingWindow(PRIVATE_CHAT_MESSAGES_PER_SECOND, 1.0)
        self._per_group = SlidingWindow(GROUP_MESSAGES_PER_MINUTE, 60.0)
        self._handlers = self._handler_table()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._closing = False
        for token in tokens:
            self.add_bot(token)

    # Lifecycle

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self._base_url = f"http://127.0.0.1:{port}"
        self._closing = False

    async def close(self) -> None:
        self._closing = True
        for bot in self.bots.values():
            bot.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """For ``TelegramAPIServer.from_base``."""
        if self._base_url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._base_url

    # Bots, chats, files, faults

    def add_bot(
        self, token: str, *, username: str | None = None, first_name: str | None = None
    ) -> TgUser:
        """Accept ``token``; its bot's id is the token's number."""
        bot_id = _bot_id(token)
        user = TgUser(
            bot_id,
            first_name or f"Test bot {bot_id}",
            username=username or f"test{bot_id}_bot",
            language_code=None,
            is_bot=True,
        )
        self.bots[token] = BotState(token, user)
        return user

    def bot_user(self, token: str) -> TgUser:
        return self._bot(token).user

    def add_chat(self, chat: TgChat) -> TgChat:
        """Make a chat known (getChat, @username lookups). The first registration wins over
        later ones, except over a chat the fake made up when a bot used an unseen id."""
        if chat.id in self._implicit_chats:
            self._implicit_chats.discard(chat.id)
            self.chats[chat.id] = chat
        return self.chats.setdefault(chat.id, chat)

    def add_file(self, content: bytes, *, kind: str = "document", **meta: Any) -> StoredFile:
        """Register a file for getFile and download; ``meta`` adds fields such as file_name."""
        number = next(self._ids)
        defaults: dict[str, Json] = {
            "photo": {"width": 1280, "height": 960},
            "document": {"file_name": f"file_{number}.bin", "mime_type": "application/pdf"},
            "voice": {"duration": 1, "mime_type": "audio/ogg"},
            "sticker": {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        }
        meta = defaults.get(kind, {}) | meta
        folder, suffix = {
            "photo": ("photos", ".jpg"),
            "voice": ("voice", ".oga"),
            "sticker": ("stickers", ".webp"),
        }.get(kind, ("documents", PurePosixPath(meta.get("file_name", "")).suffix))
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}",
            file_unique_id=f"unique-{number}",
            kind=kind,
            content=content,
            file_path=f"{folder}/file_{number}{suffix}",
            meta=meta,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def block(self, token: str, user_id: int) -> None:
        """The user blocks the bot: sending to them answers 403 until ``unblock``."""
        self._bot(token).blocked_by.add(user_id)

    def unblock(self, token: str, user_id: int) -> None:
        self._bot(token).blocked_by.discard(user_id)

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        token: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, by ``token``, when
        given) with this error. A 429 always carries ``retry_after``, 1 unless given."""
        if error_code == 429:
            retry_after = retry_after or 1
            error = too_many_requests(retry_after)
            if description:
                error.description = description
        else:
            error = ApiError(error_code, description or default_description(error_code))
            error.retry_after = retry_after
        self._faults.append(Fault(method.lower(), error, times, chat_id, token))

    # What happened

    def calls_of(self, method: str, token: str | None = None) -> list[ApiCall]:
        return [
            call
            for call in self.calls
            if call.method.lower() == method.lower() and token in (None, call.token)
        ]

    def params_of(self, method: str, token: str | None = None) -> list[Params]:
        return [call.params for call in self.calls_of(method, token)]

    def sent_messages(self, chat_id: int | None = None, token: str | None = None) -> list[Json]:
        """Messages the bots sent and did not delete, as they are now (after edits)."""
        return [
            message
            for (bot_token, message_chat, _), message in self._messages.items()
            if token in (None, bot_token)
            and chat_id in (None, message_chat)
            and message.get("from", {}).get("id") == self.bots[bot_token].user.id
        ]

    def message(self, token: str, chat_id: int, message_id: int) -> Json | None:
        """A message as the bot knows it (sent or received), or None."""
        return self._messages.get((token, chat_id, message_id))

    def pending_updates(self, token: str) -> list[Json]:
        """Updates queued for the bot and not yet confirmed."""
        return list(self._bot(token).updates)

    def webhook(self, token: str) -> Webhook:
        return self._bot(token).webhook

    def topic(self, chat_id: int, message_thread_id: int) -> Topic | None:
        return self._topics.get((chat_id, message_thread_id))

    # Updates

    def push_update(self, token: str, update: Json) -> Json:
        """Queue an update for the bot, numbering it unless it has an update_id; returns it."""
        bot = self._bot(token)
        if "update_id" in update:
            bot.next_update_id = max(bot.next_update_id, update["update_id"] + 1)
        else:
            update = {"update_id": bot.next_update_id, **update}
            bot.next_update_id += 1
        self._remember_update(bot, update)
        bot.updates.append(update)
        bot.notify()
        return update

    async def deliver_webhook(self, token: str) -> int:
        """POST the pending updates to the bot's webhook, in order, as Telegram would; stops
        at the first answer that is not 2xx. Returns how many were delivered."""
        bot = self._bot(token)
        hook = bot.webhook
        if not hook.url:
            raise ValueError(f"no webhook set for {token}")
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token or ""}
        delivered = 0
        async with aiohttp.ClientSession() as session:
            for update in bot.deliverable():
                async with session.post(hook.url, json=update, headers=headers) as response:
                    if not 200 <= response.status < 300:
                        hook.last_error_date = _now()
                        hook.last_error_message = (
                            f"Wrong response from the webhook: {response.status} {response.reason}"
                        )
                        break
                bot.updates.remove(update)
                delivered += 1
        return delivered

    # Update builders: they return update dicts for push_update

    def text_message(
        self,
        token: str,
        user: TgUser,
        text: str,
        *,
        chat: TgChat | None = None,
        message_thread_id: int | None = None,
        reply_to: Json | None = None,
    ) -> Json:
        """A text message from ``user``: in their private chat unless ``chat`` is given; in a
        forum topic with ``message_thread_id``. A leading /command gets its entity."""
        content: Json = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
            ]
        message = self._user_message(token, user, chat, message_thread_id, content)
        if reply_to is not None:
            message["reply_to_message"] = _without_reply(reply_to)
        return {"message": message}

    def photo_message(
        self,
        token: str,
        user: TgUser,
        *,
        content: bytes = b"\xff\xd8\xff\xe0 fake jpeg",
        caption: str | None = None,
        chat: TgChat | None = None,
        message_thread_id: int | None = None,
    ) -> Json:
        """A photo in three sizes, all downloadable with ``content``."""
        sizes = [size.describe() for size in self._photo_sizes(content)]
        fields = {"photo": sizes} | _without_none({"caption": caption})
        return {"message": self._user_message(token, user, chat, message_thread_id, fields)}

    def document_message(
        self,
        token: str,
        user: TgUser,
        *,
        content: bytes = b"%PDF-1.4 fake",
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        chat: TgChat | None = None,
        message_thread_id: int | None = None,
    ) -> Json:
        stored = self.add_file(content, kind="document", file_name=file_name, mime_type=mime_type)
        fields = {"document": stored.describe()} | _without_none({"caption": caption})
        return {"message": self._user_message(token, user, chat, message_thread_id, fields)}

    def voice_message(
        self,
        token: str,
        user: TgUser,
        *,
        content: bytes = b"OggS fake voice",
        duration: int = 3,
        chat: TgChat | None = None,
        message_thread_id: int | None = None,
    ) -> Json:
        stored = self.add_file(content, kind="voice", duration=duration)
        fields = {"voice": stored.describe()}
        return {"message": self._user_message(token, user, chat, message_thread_id, fields)}

    def sticker_message(
        self,
        token: str,
        user: TgUser,
        *,
        emoji: str = "👍",
        chat: TgChat | None = None,
        message_thread_id: int | None = None,
    ) -> Json:
        stored = self.add_file(b"RIFF fake webp", kind="sticker", emoji=emoji)
        fields = {"sticker": stored.describe()}
        return {"message": self._user_message(token, user, chat, message_thread_id, fields)}

    def edited_message(self, token: str, original: Json, text: str) -> Json:
        """The user edits a message built earlier (its update or the message itself)."""
        self._bot(token)
        message = original.get("message", original)
        return {"edited_message": {**message, "text": text, "edit_date": _now()}}

    def callback_query(
        self,
        token: str,
        user: TgUser,
        data: str,
        *,
        message_id: int | None = None,
        chat: TgChat | None = None,
    ) -> Json:
        """``user`` presses the button with ``data`` under the bot's message ``message_id``
        (by default the bot's latest message in ``chat``, the user's private chat unless
        given). The message must carry such a button when it has an inline keyboard."""
        bot = self._bot(token)
        chat = chat or TgChat.private(user)
        message = self._bot_message(bot, chat.id, message_id)
        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        offered = {button.get("callback_data") for row in keyboard for button in row}
        if keyboard and data not in offered:
            raise ValueError(f"message {message['message_id']} has no button with data {data!r}")
        query = {
            "id": str(4_000_000_000_000 + next(self._ids)),
            "from": user.to_dict(),
            "message": message,
            "chat_instance": str(abs(chat.id) * 7919),
            "data": data,
        }
        return {"callback_query": query}

    def open_topic(self, chat: TgChat, name: str, creator: TgUser | None = None) -> Topic:
        """Someone (not the bot) creates a topic in a forum chat."""
        creator_dict = (creator or TgUser(1, "Admin")).to_dict()
        return self._open_topic(creator_dict, self.add_chat(chat), name, TOPIC_ICON_COLORS[0])

    # HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await read_params(request)
        self.calls.append(ApiCall(token, method, params))
        try:
            result = await self._dispatch(token, method, params)
        except ApiError as error:
            if error.error_code == 429:
                self.too_many_requests += 1
            return web.json_response(error.envelope(), status=error.error_code)
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, token: str, method: str, params: Params) -> Any:
        bot = self.bots.get(token)
        if bot is None:
            raise ApiError(401, "Unauthorized")
        handler = self._handlers.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        self._raise_injected(token, method, params)
        result = handler(bot, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _handle_download(self, request: web.Request) -> web.Response:
        stored = self._file_paths.get(request.match_info["path"])
        if request.match_info["token"] not in self.bots or stored is None:
            return web.json_response(ApiError(404, "Not Found").envelope(), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _raise_injected(self, token: str, method: str, params: Params) -> None:
        for fault in self._faults:
            if fault.matches(token, method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error

    def _handler_table(self) -> dict[str, Callable[[BotState, Params], Any]]:
        table: dict[str, Callable[[BotState, Params], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendphoto": partial(self._send_media, "photo"),
            "senddocument": partial(self._send_media, "document"),
            "sendvoice": partial(self._send_media, "voice"),
            "sendsticker": partial(self._send_media, "sticker"),
            "copymessage": self._copy_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "createforumtopic": self._create_forum_topic,
            "editforumtopic": self._edit_forum_topic,
            "closeforumtopic": partial(self._set_topic_closed, True),
            "reopenforumtopic": partial(self._set_topic_closed, False),
            "deleteforumtopic": self._delete_forum_topic,
            "getfile": self._get_file,
            "getchat": self._get_chat,
        }
        return table | dict.fromkeys(ACKNOWLEDGED_METHODS, lambda bot, params: True)

    # Methods: the bot and its updates

    def _get_me(self, bot: BotState, params: Params) -> Json:
        return bot.user.to_dict() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, bot: BotState, params: Params) -> list[Json]:
        if bot.webhook.url:
            raise ApiError(409, WEBHOOK_ACTIVE)
        if "allowed_updates" in params:
            bot.allowed_updates = params["allowed_updates"] or None
        bot.confirm(params.get("offset"))
        generation = bot.start_poll()
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while True:
            if generation != bot.poll_generation:
                raise ApiError(409, POLL_TERMINATED)
            updates = bot.deliverable(limit)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self._closing:
                return updates
            await bot.wait(remaining)

    def _set_webhook(self, bot: BotState, params: Params) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        allowed = params.get("allowed_updates")
        if allowed is not None:
            bot.allowed_updates = allowed or None
        url = params.get("url") or ""
        bot.webhook = Webhook(
            url=url,
            secret_token=secret if url else None,
            allowed_updates=allowed if url else None,
            max_connections=int(params.get("max_connections") or 40),
        )
        return True

    def _delete_webhook(self, bot: BotState, params: Params) -> bool:
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        bot.webhook = Webhook()
        return True

    def _get_webhook_info(self, bot: BotState, params: Params) -> Json:
        hook = bot.webhook
        info: Json = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if hook.url:
            info["max_connections"] = hook.max_connections
            info |= _without_none(
                {
                    "allowed_updates": hook.allowed_updates,
                    "last_error_date": hook.last_error_date,
                    "last_error_message": hook.last_error_message,
                }
            )
        return info

    # Methods: messages

    def _send_message(self, bot: BotState, params: Params) -> Json:
        chat = self._target_chat(params)
        content = _message_text(params) | _reply_markup(params)
        return self._deliver(bot, chat, params, content)

    def _send_media(self, kind: str, bot: BotState, params: Params) -> Json:
        chat = self._target_chat(params)
        files = self._input_files(params.get(kind), kind)
        attachment = [size.describe() for size in files] if kind == "photo" else files[0].describe()
        caption = {} if kind == "sticker" else _caption(params)
        content = {kind: attachment} | caption | _reply_markup(params)
        return self._deliver(bot, chat, params, content)

    def _copy_message(self, bot: BotState, params: Params) -> Json:
        chat = self._target_chat(params)
        source_chat = self._target_chat(params, "from_chat_id")
        source = self._messages.get((bot.token, source_chat.id, params.get("message_id")))
        if source is None:
            raise bad_request("message to copy not found")
        content = {key: source[key] for key in COPIED_CONTENT if key in source}
        if not content:
            raise bad_request("message can't be copied")
        if "caption" in params:
            content = {
                key: value
                for key, value in content.items()
                if key not in ("caption", "caption_entities")
            }
            content |= _caption(params)
        message = self._deliver(bot, chat, params, content | _reply_markup(params))
        return {"message_id": message["message_id"]}

    def _edit_message_text(self, bot: BotState, params: Params) -> Json:
        message = self._own_message(bot, params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        new = _message_text(params) | _reply_markup(params)
        return self._edit(bot, message, new, ("text", "entities", "reply_markup"))

    def _edit_message_reply_markup(self, bot: BotState, params: Params) -> Json:
        message = self._own_message(bot, params)
        return self._edit(bot, message, _reply_markup(params), ("reply_markup",))

    def _delete_message(self, bot: BotState, params: Params) -> bool:
        chat = self._target_chat(params)
        key = (bot.token, chat.id, params.get("message_id"))
        if key not in self._messages:
            raise bad_request("message to delete not found")
        del self._messages[key]
        return True

    def _answer_callback_query(self, bot: BotState, params: Params) -> bool:
        asked_at = bot.callback_queries.pop(str(params.get("callback_query_id")), None)
        if asked_at is None or self._clock() - asked_at > CALLBACK_ANSWER_SECONDS:
            raise bad_request(QUERY_TOO_OLD)
        return True

    # Methods: forum topics, files, chats

    def _create_forum_topic(self, bot: BotState, params: Params) -> Json:
        chat = self._target_chat(params)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        name = params.get("name")
        if not name or len(str(name)) > 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        color = params.get("icon_color", TOPIC_ICON_COLORS[0])
        if color not in TOPIC_ICON_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        creator = bot.user.to_dict()
        topic = self._open_topic(creator, chat, str(name), color, token=bot.token)
        topic.icon_custom_emoji_id = params.get("icon_custom_emoji_id")
        return topic.describe()

    def _edit_forum_topic(self, bot: BotState, params: Params) -> bool:
        topic = self._existing_topic(params)
        name = params.get("name", topic.name)
        emoji = params.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
        if (name, emoji) == (topic.name, topic.icon_custom_emoji_id):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name, topic.icon_custom_emoji_id = name, emoji
        return True

    def _set_topic_closed(self, closed: bool, bot: BotState, params: Params) -> bool:
        topic = self._existing_topic(params)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        return True

    def _delete_forum_topic(self, bot: BotState, params: Params) -> bool:
        topic = self._existing_topic(params)
        chat_id = topic.created["chat"]["id"]
        del self._topics[(chat_id, topic.message_thread_id)]
        return True

    def _get_file(self, bot: BotState, params: Params) -> Json:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _get_chat(self, bot: BotState, params: Params) -> Json:
        no_gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return self._target_chat(params).to_dict() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": no_gifts,
        }

    # Shared steps

    def _bot(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is None:
            raise ValueError(f"unknown bot token {token!r}; pass it to FakeTelegram or add_bot")
        return bot

    def _target_chat(self, params: Params, key: str = "chat_id") -> TgChat:
        value = params.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, str):
            username = value.removeprefix("@")
            found = next((chat for chat in self.chats.values() if chat.username == username), None)
            if found is None:
                raise bad_request("chat not found")
            return found
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request("chat not found")
        if value not in self.chats:
            self.chats[value] = self._implicit_chat(value)
            self._implicit_chats.add(value)
        return self.chats[value]

    @staticmethod
    def _implicit_chat(chat_id: int) -> TgChat:
        if chat_id > 0:
            return TgChat(chat_id, "private", first_name=f"User {chat_id}")
        if chat_id < SUPERGROUP_IDS_BELOW:
            return TgChat.forum(chat_id, f"Supergroup {chat_id}")
        return TgChat(chat_id, "group", title=f"Group {chat_id}")

    def _next_message_id(self, token: str, chat: TgChat) -> int:
        """Private chats number messages per bot; groups number them for all members."""
        key = (token if chat.type == "private" else None, chat.id)
        self._message_ids[key] = self._message_ids.get(key, 0) + 1
        return self._message_ids[key]

    def _saw_message_id(self, token: str, chat: TgChat, message_id: int) -> None:
        key = (token if chat.type == "private" else None, chat.id)
        self._message_ids[key] = max(self._message_ids.get(key, 0), message_id)

    def _deliver(self, bot: BotState, chat: TgChat, params: Params, content: Json) -> Json:
        """Post a bot's message to the chat: checks topic, reply, block, limits; stores it."""
        thread = self._thread_fields(chat, params.get("message_thread_id"))
        reply = self._reply_fields(bot, chat, params)
        if chat.type == "private" and chat.id in bot.blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._admit(bot, chat)
        message = {
            "message_id": self._next_message_id(bot.token, chat),
            "from": bot.user.to_dict(),
            "chat": chat.to_dict(),
            "date": _now(),
            **thread,
            **reply,
            **content,
        }
        self._messages[(bot.token, chat.id, message["message_id"])] = message
        return message

    def _admit(self, bot: BotState, chat: TgChat) -> None:
        """Telegram's flood limits, when enforced: 429 with the seconds to wait."""
        if not self.enforce_limits:
            return
        per_chat = self._per_private_chat if chat.type == "private" else self._per_group
        windows = ((self._per_bot, bot.token), (per_chat, (bot.token, chat.id)))
        now = self._clock()
        wait = max(window.wait_time(key, now) for window, key in windows)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for window, key in windows:
            window.add(key, now)

    def _thread_fields(self, chat: TgChat, thread_id: Any) -> Json:
        if thread_id is None or not chat.is_forum:
            return {}
        topic = self._topics.get((chat.id, thread_id))
        if topic is None:
            raise bad_request("message thread not found")
        return topic.message_fields()

    def _reply_fields(self, bot: BotState, chat: TgChat, params: Params) -> Json:
        reply = params.get("reply_parameters") or {}
        if not isinstance(reply, dict):
            raise bad_request("can't parse reply parameters JSON object")
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return {}
        original = self._messages.get((bot.token, chat.id, message_id))
        if original is not None:
            return {"reply_to_message": _without_reply(original)}
        if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
            return {}
        raise bad_request("message to be replied not found")

    def _own_message(self, bot: BotState, params: Params) -> Json:
        """The bot's own message named by chat_id and message_id, for editing."""
        if "inline_message_id" in params:
            raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not emulated
        chat = self._target_chat(params)
        message = self._messages.get((bot.token, chat.id, params.get("message_id")))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != bot.user.id:
            raise bad_request("message can't be edited")
        return message

    def _edit(self, bot: BotState, message: Json, new: Json, replaced: tuple[str, ...]) -> Json:
        """Replace the ``replaced`` fields with ``new`` (absent ones are removed, as Telegram
        removes a keyboard not repeated in editMessageText)."""
        kept = {key: value for key, value in message.items() if key not in (*replaced, "edit_date")}
        edited = kept | new
        unchanged = {key: value for key, value in message.items() if key != "edit_date"}
        if edited == unchanged:
            raise bad_request(NOT_MODIFIED)
        edited["edit_date"] = _now()
        self._messages[(bot.token, message["chat"]["id"], message["message_id"])] = edited
        return edited

    def _input_files(self, value: Any, kind: str) -> list[StoredFile]:
        if isinstance(value, Upload):
            return self._store_upload(value, kind)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            return self._new_files(b"", kind)  # the fake does not fetch URLs
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return [stored]

    def _store_upload(self, upload: Upload, kind: str) -> list[StoredFile]:
        if kind == "document":
            return [
                self.add_file(
                    upload.content,
                    kind=kind,
                    file_name=upload.filename,
                    mime_type=upload.content_type,
                )
            ]
        return self._new_files(upload.content, kind)

    def _new_files(self, content: bytes, kind: str) -> list[StoredFile]:
        if kind == "photo":
            return self._photo_sizes(content)
        return [self.add_file(content, kind=kind)]

    def _photo_sizes(self, content: bytes) -> list[StoredFile]:
        sizes = ((90, 68), (320, 240), (1280, 960))
        return [
            self.add_file(content, kind="photo", width=width, height=height)
            for width, height in sizes
        ]

    def _bot_message(self, bot: BotState, chat_id: int, message_id: int | None) -> Json:
        own = [
            message
            for message in self.sent_messages(chat_id, bot.token)
            if message_id in (None, message["message_id"])
        ]
        if not own:
            raise ValueError(f"the bot has no message {message_id or ''} in chat {chat_id}")
        return own[-1]

    def _user_message(
        self,
        token: str,
        user: TgUser,
        chat: TgChat | None,
        thread_id: int | None,
        content: Json,
    ) -> Json:
        self._bot(token)
        chat = self.add_chat(chat or TgChat.private(user))
        thread = self._user_thread_fields(chat, thread_id, user)
        return {
            "message_id": self._next_message_id(token, chat),
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": _now(),
            **thread,
            **content,
        }

    def _user_thread_fields(self, chat: TgChat, thread_id: int | None, user: TgUser) -> Json:
        if thread_id is None:
            return {}
        if not chat.is_forum:
            raise ValueError(f"chat {chat.id} is not a forum")
        topic = self._topics.get((chat.id, thread_id)) or self._open_topic(
            user.to_dict(), chat, f"Topic {thread_id}", TOPIC_ICON_COLORS[0], thread_id=thread_id
        )
        return topic.message_fields()

    def _open_topic(
        self,
        creator: Json,
        chat: TgChat,
        name: str,
        icon_color: int,
        *,
        thread_id: int | None = None,
        token: str | None = None,
    ) -> Topic:
        """A topic's id is the id of the service message that created it."""
        if thread_id is None:
            thread_id = self._next_message_id(token or "", chat)
        else:
            self._saw_message_id(token or "", chat, thread_id)
        created = {
            "message_id": thread_id,
            "from": creator,
            "chat": chat.to_dict(),
            "date": _now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color},
        }
        topic = Topic(thread_id, name, icon_color, created)
        self._topics[(chat.id, thread_id)] = topic
        if token is not None:
            self._messages[(token, chat.id, thread_id)] = created
        return topic

    def _existing_topic(self, params: Params) -> Topic:
        chat = self._target_chat(params)
        topic = self._topics.get((chat.id, params.get("message_thread_id")))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _remember_update(self, bot: BotState, update: Json) -> None:
        for key in MESSAGE_UPDATES:
            message = update.get(key)
            if isinstance(message, dict):
                chat = self.add_chat(TgChat.from_dict(message["chat"]))
                self._saw_message_id(bot.token, chat, message["message_id"])
                self._messages[(bot.token, chat.id, message["message_id"])] = message
        query = update.get("callback_query")
        if isinstance(query, dict):
            bot.callback_queries[str(query["id"])] = self._clock()
