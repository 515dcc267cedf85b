"""VK's update objects in the core's terms: who wrote, what, with which files.

Only the fields we read are declared; a field of the wrong type fails validation with a clear
message (the webhook answers 400 and nothing is stored), other fields pass unread.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.messages import Attachment, Edit, Inbound

CHATS_FROM = 2_000_000_000  # peer ids of group chats start here; customers write in private


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VkMessage(_Object):
    id: int = 0
    peer_id: int
    from_id: int
    date: int = 0
    text: str = ""
    conversation_message_id: int = 0
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    payload: str | None = None
    update_time: int | None = None

    @property
    def private(self) -> bool:
        return 0 < self.peer_id < CHATS_FROM

    @property
    def key(self) -> str:
        """VK numbers a dialog's messages (``conversation_message_id``): the dialog and the
        number name one message, the same in ``message_new`` and ``message_edit``."""
        if self.conversation_message_id:
            return f"{self.peer_id}:{self.conversation_message_id}"
        return f"id:{self.id}"

    @property
    def starts(self) -> bool:
        """The "Start" button of a new dialog: its payload is ``{"command": "start"}``."""
        try:
            data = json.loads(self.payload or "null")
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("command") == "start"


class MessageNew(_Object):
    message: VkMessage


class MessageEvent(_Object):
    user_id: int
    peer_id: int
    event_id: str
    payload: dict[str, Any] | str | None = None
    conversation_message_id: int = 0


class MessageDeny(_Object):
    user_id: int


def inbound(inbox: str, message: VkMessage, name: str | None) -> Inbound:
    return Inbound(
        inbox=inbox,
        external_id=str(message.peer_id),
        text=message.text,
        platform_message_id=message.key,
        attachments=attachments(message.attachments),
        customer_name=name,
        received_at=datetime.fromtimestamp(message.date, UTC) if message.date else None,
    )


def edit(inbox: str, message: VkMessage) -> Edit:
    at = message.update_time or message.date
    return Edit(
        inbox=inbox,
        external_id=str(message.peer_id),
        platform_message_id=message.key,
        text=message.text,
        edited_at=datetime.fromtimestamp(at, UTC) if at else None,
    )


def attachments(found: list[dict[str, Any]]) -> tuple[Attachment, ...]:
    """Metadata with links: VK's files stay with VK, agents open them by their URL."""
    return tuple(attachment(item) for item in found if isinstance(item, dict))


def attachment(item: dict[str, Any]) -> Attachment:
    kind = str(item.get("type", "unknown"))
    body = item.get(kind) if isinstance(item.get(kind), dict) else {}
    ref = _ref(kind, body)
    if kind == "photo":
        return Attachment(kind="image", mime="image/jpeg", name=ref, url=_largest(body))
    if kind == "doc":
        return Attachment(
            kind="file",
            name=str(body.get("title") or ref),
            size=body.get("size") if isinstance(body.get("size"), int) else None,
            url=str(body.get("url") or ""),
        )
    if kind == "audio_message":
        link = body.get("link_ogg") or body.get("link_mp3") or ""
        mime = "audio/ogg" if body.get("link_ogg") else "audio/mpeg"
        return Attachment(kind="voice", mime=mime, name=ref, url=str(link))
    if kind in ("video", "audio", "sticker"):
        return Attachment(kind=kind, name=ref, url=_largest(body) if kind == "sticker" else "")
    return Attachment(kind="file", name=ref, url=str(body.get("url") or ""))


def _ref(kind: str, body: dict[str, Any]) -> str:
    """VK's name for an attachment: ``photo-1_456`` (type, owner, id), or the type alone."""
    if "owner_id" in body and "id" in body:
        return f"{kind}{body['owner_id']}_{body['id']}"
    return kind


def _largest(body: dict[str, Any]) -> str:
    sizes = [s for s in body.get("sizes") or body.get("images") or [] if isinstance(s, dict)]
    if not sizes:
        return ""
    best = max(sizes, key=lambda s: int(s.get("width") or 0) * int(s.get("height") or 0))
    return str(best.get("url") or "")
