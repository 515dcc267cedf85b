"""The Bot API methods: each checks its parameters as Telegram does, then acts on what the
fake keeps (messages, topics, files, webhooks)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from tests.fakes.telegram.html import parse_html, utf16_length
from tests.fakes.telegram.model import (
    TOPIC_ICON_COLORS,
    BotState,
    StoredFile,
    TgChat,
    Topic,
    Webhook,
)
from tests.fakes.telegram.wire import (
    ApiError,
    Json,
    Params,
    Upload,
    bad_request,
    unix_now,
    without_none,
    without_reply,
)

MAX_TEXT_LENGTH = 4096  # UTF-16 code units of the text after entity parsing
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
CALLBACK_ANSWER_SECONDS = 15.0
SUPERGROUP_IDS_BELOW = -1_000_000_000_000
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
BUTTON_URL = re.compile(r"(https?|tg)://\S+")
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


class BotApiMethods:
    """The handlers of the Bot API methods, by lower-case method name, and their steps.

    Mixed into ``FakeTelegram``, whose state (``_messages``, ``_topics``, ``_files``...)
    and shared steps (``_next_message_id``, ``_admit``, ``_open_topic``...) they use.
    """

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
            info |= without_none(
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

    # Steps of the methods

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
            "date": unix_now(),
            **thread,
            **reply,
            **content,
        }
        self._messages[(bot.token, chat.id, message["message_id"])] = message
        return message

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
            return {"reply_to_message": without_reply(original)}
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
        edited["edit_date"] = unix_now()
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

    def _existing_topic(self, params: Params) -> Topic:
        chat = self._target_chat(params)
        topic = self._topics.get((chat.id, params.get("message_thread_id")))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic
