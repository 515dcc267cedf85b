"""A parsed email as the core's Inbound: the sender is the identity, the thread tells the core
which ticket it continues, attachments up to the inbox's limit are kept."""

from __future__ import annotations

from dataclasses import dataclass

from bots.email.files import FileStore
from bots.email.parse import Mail, Part
from core.messages import MAX_TEXT, Attachment, Inbound, MailThread

_CUT = "\n\n[…]"


@dataclass(frozen=True)
class Oversize:
    name: str
    size: int


@dataclass(frozen=True)
class Translated:
    inbound: Inbound
    oversize: tuple[Oversize, ...]  # attachments over the limit: named, not stored


async def inbound(inbox: str, mail: Mail, files: FileStore, limit: int) -> Translated:
    attachments: list[Attachment] = []
    oversize: list[Oversize] = []
    for part in mail.attachments:
        if len(part.content) > limit:
            oversize.append(Oversize(part.name, len(part.content)))
            attachments.append(_attachment(part, ""))
        else:
            attachments.append(_attachment(part, await files.keep(part.content)))
    text = mail.text
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - len(_CUT)] + _CUT
    if not text.strip() and not attachments:
        text = mail.subject or "(empty message)"
    message = Inbound(
        inbox=inbox,
        external_id=mail.sender,
        text=text,
        platform_message_id=mail.message_id,
        attachments=tuple(attachments),
        customer_name=mail.sender_name or None,
        customer_email=mail.sender,
        thread=MailThread(
            subject=mail.topic, references=mail.references, ticket_number=mail.ticket_number
        ),
    )
    return Translated(message, tuple(oversize))


def _attachment(part: Part, file_id: str) -> Attachment:
    kind = "image" if part.mime.startswith("image/") else "file"
    return Attachment(kind, part.name, part.mime, len(part.content), file_id=file_id)
