"""What users do in Telegram, built as updates for ``FakeTelegram.push_update``."""

from __future__ import annotations

from tests.fakes.telegram.html import utf16_length
from tests.fakes.telegram.model import TOPIC_ICON_COLORS, BotState, TgChat, TgUser, Topic
from tests.fakes.telegram.wire import Json, unix_now, without_none, without_reply


class UpdateBuilders:
    """Update builders: they return update dicts for push_update.

    Mixed into ``FakeTelegram``, whose state and shared steps (``_bot``, ``add_file``,
    ``add_chat``, ``_open_topic``...) they use.
    """

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
            message["reply_to_message"] = without_reply(reply_to)
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
        fields = {"photo": sizes} | without_none({"caption": caption})
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
        fields = {"document": stored.describe()} | without_none({"caption": caption})
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
        return {"edited_message": {**message, "text": text, "edit_date": unix_now()}}

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
            "date": unix_now(),
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
