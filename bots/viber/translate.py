"""Viber messages in the core's terms: who wrote, what, with which files.

Pictures, videos, files and stickers stay on Viber's servers: the attachment keeps the media
URL (as its ``url`` and as the id the channel opens it by). Contacts, locations and any other
kind of message are kept as metadata, so nothing a customer sends is lost.
"""

from __future__ import annotations

import mimetypes

from bots.viber.wire import Callback, Content
from core.messages import Attachment, Inbound


def inbound(inbox: str, callback: Callback) -> Inbound:
    assert callback.sender is not None and callback.message is not None
    content = callback.message
    return Inbound(
        inbox=inbox,
        external_id=callback.sender.id,
        text=_text(content),
        platform_message_id=str(callback.message_token),
        attachments=attachments(content),
        customer_name=callback.sender.name or None,
        received_at=callback.at,
    )


def _text(content: Content) -> str:
    if content.type == "url":  # a link the customer shared: the link is the message
        return content.media or content.text or ""
    return content.text or ""


def attachments(content: Content) -> tuple[Attachment, ...]:
    kind = content.type
    if kind == "text" or kind == "url":
        return ()
    if kind in ("picture", "video", "file", "sticker"):
        return (_media(content),)
    if kind == "contact" and content.contact:
        c = content.contact
        label = " ".join(p for p in (c.name, c.phone_number) if p)
        return (Attachment(kind="contact", name=label or "contact"),)
    if kind == "location" and content.location:
        at = f"{content.location.lat},{content.location.lon}"
        return (Attachment(kind="location", name=at, url=f"geo:{at}"),)
    return (Attachment(kind=kind, name=content.file_name or "", url=content.media or ""),)


_KINDS = {"picture": "image", "video": "video", "file": "file", "sticker": "sticker"}
_DEFAULT_MIME = {"picture": "image/jpeg", "video": "video/mp4", "sticker": "image/png"}


def _media(content: Content) -> Attachment:
    name = content.file_name or ""
    if content.type == "sticker" and content.sticker_id is not None:
        name = name or f"sticker {content.sticker_id}"
    mime = (mimetypes.guess_type(name)[0] if name else None) or _DEFAULT_MIME.get(content.type, "")
    media = content.media or ""
    return Attachment(
        kind=_KINDS[content.type], name=name, mime=mime, size=content.size, file_id=media, url=media
    )
