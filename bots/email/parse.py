"""A raw email as the parts Otklik uses, read leniently: a broken header, an unknown charset
or a missing part is noted in ``problems`` and read as well as it can be, never dropped."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from bots.email.auto import automatic
from bots.email.bounce import Bounce, bounce
from bots.email.html import to_text

MAX_ID = 200  # the column platform ids are stored in
MAX_HEADER = 2000  # longer header values are cut before they are parsed further
_ID = re.compile(r"<[^<>\s]{1,300}>")
_TICKET = re.compile(r"\[#(\d{1,9})\]")
_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|отв|ответ|пересл)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass(frozen=True)
class Part:
    """An attached file."""

    name: str
    mime: str
    content: bytes


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # the address, lower case; "" when the From header names none
    sender_name: str
    subject: str  # as written
    text: str
    references: tuple[str, ...]  # the Message-IDs it answers, oldest first
    attachments: tuple[Part, ...]
    automatic: str | None  # why no person wrote it, when none did
    bounce: Bounce | None  # the failure it reports of mail we sent, when it is such a report
    problems: tuple[str, ...]

    @property
    def topic(self) -> str:
        """The subject without "Re:"/"Fwd:" and our "[#N]" tags: a new ticket's subject."""
        return " ".join(_PREFIX.sub("", _TICKET.sub(" ", self.subject)).split())

    @property
    def ticket_number(self) -> int | None:
        found = _TICKET.search(self.subject)
        return int(found[1]) if found else None


def parse(raw: bytes) -> Mail:
    problems: list[str] = []
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    name, sender = _sender(_header(mail, "From", problems))
    if not sender:
        problems.append("no sender address in From")
    refs = _ids(_header(mail, "References", problems)) + _ids(
        _header(mail, "In-Reply-To", problems)
    )
    body = _body(mail, problems)
    return Mail(
        message_id=_message_id(_header(mail, "Message-ID", problems), raw),
        sender=sender,
        sender_name=name,
        subject=" ".join(_header(mail, "Subject", problems).split())[:200],
        text=_text(body, problems) if body is not None else "",
        references=tuple(dict.fromkeys(r for r in refs if len(r) <= MAX_ID)),
        attachments=_attachments(mail, body, problems),
        automatic=automatic(mail, sender),
        bounce=_bounce(mail, problems),
        problems=tuple(problems),
    )


def _header(mail: EmailMessage, name: str, problems: list[str]) -> str:
    try:
        value = mail.get(name)
        return "" if value is None else str(value)[:MAX_HEADER]
    except Exception as exc:  # the header parser gave up: the raw value, undecoded
        problems.append(f"{name} header unreadable ({type(exc).__name__}: {exc})")
        raw = Message.get(mail, name)
        return str(raw or "")[:MAX_HEADER]


def _sender(value: str) -> tuple[str, str]:
    pairs = [(n, a) for n, a in getaddresses([value]) if "@" in a]
    if not pairs:
        return "", ""
    name, address = pairs[0]
    return " ".join(name.split())[:200], address.strip().lower()[:200]


def _ids(value: str) -> list[str]:
    return _ID.findall(value)


def _message_id(value: str, raw: bytes) -> str:
    """The Message-ID, or one derived from the bytes (the same mail read again gets the
    same one, so de-duplication still holds)."""
    found = _ID.search(value)
    if found and len(found[0]) <= MAX_ID:
        return found[0]
    basis = found[0].encode() if found else raw
    return f"<{hashlib.sha256(basis).hexdigest()[:40]}@otklik.invalid>"


def _bounce(mail: EmailMessage, problems: list[str]) -> Bounce | None:
    try:
        return bounce(mail)
    except Exception as exc:  # a report too broken to read: ignored like other automatic mail
        problems.append(f"delivery report unreadable ({type(exc).__name__}: {exc})")
        return None


def _body(mail: EmailMessage, problems: list[str]) -> EmailMessage | None:
    try:
        return mail.get_body(preferencelist=("plain", "html"))  # type: ignore[return-value]
    except Exception as exc:
        problems.append(f"no readable body ({type(exc).__name__}: {exc})")
        return None


def _text(part: EmailMessage, problems: list[str]) -> str:
    try:
        content = part.get_content()
    except Exception as exc:  # an unknown charset, most likely: read it as UTF-8
        problems.append(f"body text in {part.get_content_charset()!r} read as UTF-8 ({exc})")
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    content = str(content)
    if part.get_content_subtype() == "html":
        content = to_text(content)
    return content.replace("\r\n", "\n").strip()


def _attachments(
    mail: EmailMessage, body: EmailMessage | None, problems: list[str]
) -> tuple[Part, ...]:
    found: list[Part] = []
    for part in mail.walk():
        if part.is_multipart() or part is body:
            continue
        filename = _filename(part, problems)
        if part.get_content_maintype() == "text" and not filename:
            continue  # the other alternative of the body (its HTML twin)
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        mime = part.get_content_type()
        found.append(Part(filename or f"attachment-{len(found) + 1}", mime, content))
    return tuple(found)


def _filename(part: Message, problems: list[str]) -> str:
    try:
        return " ".join(str(part.get_filename() or "").split())[:200]
    except Exception as exc:
        problems.append(f"attachment name unreadable ({exc})")
        return ""
