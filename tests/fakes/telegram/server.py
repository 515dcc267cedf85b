"""``FakeTelegram``: the emulator's server, with its lifecycle, routing, recorded calls,
injected faults, flood limits and webhook delivery."""

from __future__ import annotations

import inspect
import itertools
import math
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram.methods import BotApiMethods
from tests.fakes.telegram.model import (
    BotState,
    Fault,
    SlidingWindow,
    StoredFile,
    TgChat,
    TgUser,
    Topic,
    Webhook,
)
from tests.fakes.telegram.updates import UpdateBuilders
from tests.fakes.telegram.wire import (
    ApiCall,
    ApiError,
    Json,
    Params,
    default_description,
    read_params,
    too_many_requests,
    unix_now,
)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MESSAGES_PER_SECOND = 30
PRIVATE_CHAT_MESSAGES_PER_SECOND = 1
GROUP_MESSAGES_PER_MINUTE = 20
MESSAGE_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")


def _bot_id(token: str) -> int:
    bot_id, _, secret = token.partition(":")
    if not bot_id.isdigit() or not secret:
        raise ValueError(f"not a bot token: {token!r}")
    return int(bot_id)


class FakeTelegram(UpdateBuilders, BotApiMethods):
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
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, by ``token``, when
        given) with this error, once ``after`` of them went through. A 429 always carries
        ``retry_after``, 1 unless given."""
        if error_code == 429:
            retry_after = retry_after or 1
            error = too_many_requests(retry_after)
            if description:
                error.description = description
        else:
            error = ApiError(error_code, description or default_description(error_code))
            error.retry_after = retry_after
        self._faults.append(Fault(method.lower(), error, times, chat_id, token, after))

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
                        hook.last_error_date = unix_now()
                        hook.last_error_message = (
                            f"Wrong response from the webhook: {response.status} {response.reason}"
                        )
                        break
                bot.updates.remove(update)
                delivered += 1
        return delivered

    # HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await read_params(request)
        self.calls.append(ApiCall(token, method, params, time.monotonic()))
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
                if fault.after > 0:
                    fault.after -= 1
                    return
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error

    # Flood limits

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

    # Shared steps

    def _bot(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is None:
            raise ValueError(f"unknown bot token {token!r}; pass it to FakeTelegram or add_bot")
        return bot

    def _next_message_id(self, token: str, chat: TgChat) -> int:
        """Private chats number messages per bot; groups number them for all members."""
        key = (token if chat.type == "private" else None, chat.id)
        self._message_ids[key] = self._message_ids.get(key, 0) + 1
        return self._message_ids[key]

    def _saw_message_id(self, token: str, chat: TgChat, message_id: int) -> None:
        key = (token if chat.type == "private" else None, chat.id)
        self._message_ids[key] = max(self._message_ids.get(key, 0), message_id)

    def _photo_sizes(self, content: bytes) -> list[StoredFile]:
        sizes = ((90, 68), (320, 240), (1280, 960))
        return [
            self.add_file(content, kind="photo", width=width, height=height)
            for width, height in sizes
        ]

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
            "date": unix_now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color},
        }
        topic = Topic(thread_id, name, icon_color, created)
        self._topics[(chat.id, thread_id)] = topic
        if token is not None:
            self._messages[(token, chat.id, thread_id)] = created
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
