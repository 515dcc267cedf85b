"""Telegram messages in the core's terms: who wrote, what, with which files."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Message

from core.messages import Attachment, Edit, Inbound


def message_key(message: Message) -> str:
    """Telegram numbers messages per chat: the chat and the number name one message."""
    return f"{message.chat.id}:{message.message_id}"


def customer_name(message: Message) -> str | None:
    user = message.from_user
    if user is None:
        return None
    return " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


def inbound(inbox: str, message: Message) -> Inbound:
    return Inbound(
        inbox=inbox,
        external_id=str(message.chat.id),
        text=message.text or message.caption or "",
        platform_message_id=message_key(message),
        attachments=attachments(message),
        customer_name=customer_name(message),
        received_at=message.date,
    )


def edit(inbox: str, message: Message) -> Edit:
    return Edit(
        inbox=inbox,
        external_id=str(message.chat.id),
        platform_message_id=message_key(message),
        text=message.text or message.caption or "",
        edited_at=datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else None,
    )


def attachments(message: Message) -> tuple[Attachment, ...]:
    """Metadata of the files in a message; the bytes stay with Telegram (opened by file id)."""
    found: list[Attachment] = []
    if message.photo:
        largest = message.photo[-1]
        found.append(
            Attachment(
                kind="image", mime="image/jpeg", size=largest.file_size, file_id=largest.file_id
            )
        )
    if message.document:
        d = message.document
        found.append(
            Attachment(
                kind="file",
                name=d.file_name or "",
                mime=d.mime_type or "",
                size=d.file_size,
                file_id=d.file_id,
            )
        )
    if message.voice:
        v = message.voice
        found.append(
            Attachment(
                kind="voice", mime=v.mime_type or "audio/ogg", size=v.file_size, file_id=v.file_id
            )
        )
    if message.audio:
        a = message.audio
        found.append(
            Attachment(
                kind="audio",
                name=a.file_name or a.title or "",
                mime=a.mime_type or "",
                size=a.file_size,
                file_id=a.file_id,
            )
        )
    if message.video:
        v2 = message.video
        found.append(
            Attachment(
                kind="video",
                name=v2.file_name or "",
                mime=v2.mime_type or "",
                size=v2.file_size,
                file_id=v2.file_id,
            )
        )
    if message.sticker:
        s = message.sticker
        found.append(
            Attachment(
                kind="sticker",
                name=s.emoji or "",
                mime="image/webp",
                size=s.file_size,
                file_id=s.file_id,
            )
        )
    return tuple(found)
