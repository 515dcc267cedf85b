"""What adapters and the core exchange: platform-neutral inbound and outbound messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import InvalidInput

_PAYLOAD = re.compile(r"^[A-Za-z0-9_.:=-]{1,64}$")
MAX_TEXT = 20_000


def split_text(text: str, limit: int, utf16: bool = False) -> list[str]:
    """A text too long for one message of a channel, as pieces of at most ``limit``
    characters (``utf16``: UTF-16 code units, as Telegram counts, where a character beyond
    U+FFFF, most emoji, is two), cut at the last line break in the second half of a piece,
    else at its last space there, else where the limit falls."""
    pieces = []
    while (end := _fitting(text, limit, utf16)) < len(text):
        cut = next(
            (at for at in (text.rfind("\n", 0, end), text.rfind(" ", 0, end)) if at > end // 2),
            end,
        )
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    return [*pieces, text]


def _fitting(text: str, limit: int, utf16: bool) -> int:
    """How many of the first characters of ``text`` fit in ``limit``."""
    if not utf16:
        return min(len(text), limit)
    units = 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def clean_text(text: str) -> str:
    """Text as stored: NUL characters (PostgreSQL cannot store them) become U+FFFD."""
    return text.replace("\x00", "\ufffd")


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file a customer or agent sent; the bytes stay on the platform."""

    kind: str  # image, file, audio, voice, video, sticker
    name: str = ""
    mime: str = ""
    size: int | None = None
    file_id: str = ""  # the platform's id, resolved through the channel when opened
    url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@dataclass(frozen=True)
class Button:
    """A button offered to a customer. The payload is what ``button.pressed`` rules match.

    Checked when built, not when a platform rejects it: labels are 1–64 characters, payloads
    1–64 characters of ``A-Z a-z 0-9 _ . : = -``.
    """

    label: str
    payload: str
    row: int = 0  # buttons with the same row share a line where the channel can lay them out

    def __post_init__(self) -> None:
        if not 1 <= len(self.label.strip()) <= 64:
            raise InvalidInput(f"button label must be 1-64 characters, got {self.label!r}")
        if not _PAYLOAD.match(self.payload):
            raise InvalidInput(
                f"button payload must be 1-64 characters of A-Z a-z 0-9 _ . : = -, "
                f"got {self.payload!r}"
            )


@dataclass(frozen=True)
class MailThread:
    """How an email finds its ticket. Chats leave ``Inbound.thread`` unset and write on the
    customer's live ticket; an email joins the ticket one of ``references`` (its In-Reply-To
    and References, Message-IDs as sent) names, else the ticket ``[#N]`` in its subject names
    (if it is the same customer's), else opens a new ticket with ``subject``."""

    subject: str = ""
    references: tuple[str, ...] = ()
    ticket_number: int | None = None


@dataclass(frozen=True)
class Inbound:
    """A customer's message as an adapter hands it to the core."""

    inbox: str
    external_id: str  # who wrote, as the platform names them
    text: str = ""
    platform_message_id: str | None = None  # the de-duplication key within the inbox
    attachments: tuple[Attachment, ...] = ()
    customer_name: str | None = None
    customer_email: str | None = None
    received_at: datetime | None = None
    thread: MailThread | None = None  # email only: how the message finds its ticket


@dataclass(frozen=True)
class Edit:
    """A customer changed a message they had sent: the platform's id names it."""

    inbox: str
    external_id: str
    platform_message_id: str
    text: str
    edited_at: datetime | None = None


@dataclass(frozen=True)
class Press:
    """A customer pressed a button: ``button_id`` is the opaque token the platform carried."""

    inbox: str
    external_id: str
    button_id: str
    platform_event_id: str | None = None


@dataclass(frozen=True)
class OutButton:
    id: str
    label: str
    row: int = 0


@dataclass(frozen=True)
class Outbound:
    """One message for an adapter to deliver; ``key`` is stable across retries."""

    outbox_id: int
    message_id: int
    inbox: str
    external_id: str
    text: str
    ticket_number: int
    buttons: tuple[OutButton, ...] = ()
    attachments: tuple[dict[str, Any], ...] = field(default=())
    author_name: str | None = None
    subject: str | None = None  # for email: the subject line
    ticket_subject: str = ""
    # Email only: platform ids of the ticket's earlier messages in this inbox (the customer's
    # and ours), oldest first; the last of the customer's is what this one answers.
    references: tuple[str, ...] = ()
    in_reply_to: str | None = None
    # The public page where the customer can answer instead of pressing (a rating request's
    # /rate/<token>): a path, for channels without buttons (email) to link to.
    page: str | None = None
    # Which platform message of the row this is: a text too long for the channel goes in
    # several (core/adapt.py), numbered from 0; the row's ``key`` is the same for all.
    part: int = 0

    @property
    def key(self) -> str:
        return f"otklik-{self.outbox_id}"
