"""Callbacks as Viber sends them to a bot's webhook."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class ViberUser:
    id: str
    name: str
    language: str = "en"
    country: str = "UA"
    api_version: int = 10

    def to_dict(self) -> Json:
        return dict(self.__dict__)


def now_ms() -> int:
    return int(time.time() * 1000)


class CallbackBuilders:
    """Builders of callbacks; each one gets a fresh ``message_token``."""

    _tokens = itertools.count(5_600_000_000_000_000_001)

    def _callback(self, event: str, **fields: Any) -> Json:
        return {
            "event": event,
            "timestamp": now_ms(),
            "chat_hostname": "SN-CHAT-01_",
            "message_token": next(self._tokens),
            **fields,
        }

    def message(self, user: ViberUser, content: Json) -> Json:
        return self._callback("message", sender=user.to_dict(), message=content, silent=False)

    def text_message(self, user: ViberUser, text: str) -> Json:
        return self.message(user, {"type": "text", "text": text})

    def picture_message(self, user: ViberUser, media: str, text: str = "", size: int = 0) -> Json:
        content = {"type": "picture", "media": media, "thumbnail": media, "size": size}
        return self.message(user, {**content, "text": text} if text else content)

    def file_message(self, user: ViberUser, media: str, file_name: str, size: int) -> Json:
        return self.message(
            user, {"type": "file", "media": media, "file_name": file_name, "size": size}
        )

    def subscribed(self, user: ViberUser) -> Json:
        return self._callback("subscribed", user=user.to_dict())

    def unsubscribed(self, user: ViberUser) -> Json:
        return self._callback("unsubscribed", user_id=user.id)

    def conversation_started(self, user: ViberUser) -> Json:
        return self._callback(
            "conversation_started", type="open", user=user.to_dict(), subscribed=False
        )

    def webhook_event(self) -> Json:
        return self._callback("webhook")
