"""A delivery status report (RFC 3464, ``multipart/report; report-type=delivery-status``) that
tells of mail that could not be delivered: which mail (its Message-ID, from the returned
message or its headers, else the report's own In-Reply-To/References) and why.

Reports of a delay, a relay or a success tell of no failure and are only ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

MAX_REASON = 300
_ID = re.compile(r"<[^<>\s]{1,300}>")


@dataclass(frozen=True)
class Bounce:
    original_ids: tuple[str, ...]  # the Message-IDs it may report on, the likeliest first
    reason: str  # "gone@example.net: 550 5.1.1 No such user", for agents


def bounce(mail: Message) -> Bounce | None:
    """The failure ``mail`` reports, or None when it reports none (or is no report)."""
    if mail.get_content_type() != "multipart/report":
        return None
    if str(mail.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failures = [fields for fields in _recipients(mail) if _failed(fields)]
    if not failures:
        return None
    reason = "; ".join(_why(fields) for fields in failures)
    ids = _original_ids(mail) + _ids(mail.get("In-Reply-To")) + _ids(mail.get("References"))
    return Bounce(tuple(dict.fromkeys(ids)), reason[:MAX_REASON])


def _recipients(mail: Message) -> list[Message]:
    """The per-recipient field groups of the report's ``message/delivery-status`` part (the
    first group is the per-message one: it has no Action and never counts as a failure)."""
    for part in mail.walk():
        if part.get_content_type() == "message/delivery-status":
            groups = part.get_payload()
            return [g for g in groups if isinstance(g, Message)] if isinstance(groups, list) else []
    return []


def _failed(fields: Message) -> bool:
    return str(fields.get("Action", "")).strip().lower() == "failed"


def _why(fields: Message) -> str:
    """``recipient: diagnostic`` (the remote server's words), else the status code."""
    recipient = _typed(fields.get("Final-Recipient") or fields.get("Original-Recipient"))
    said = _typed(fields.get("Diagnostic-Code")) or f"status {fields.get('Status', '?')}".strip()
    said = " ".join(said.split())
    return f"{recipient}: {said}" if recipient else said


def _typed(value: object) -> str:
    """A DSN field's value without its type (``rfc822; a@b`` → ``a@b``, ``smtp; 550 …``)."""
    text = " ".join(str(value or "").split())
    return text.split(";", 1)[1].strip() if ";" in text else text


def _original_ids(mail: Message) -> list[str]:
    """The Message-ID of the returned mail: a ``message/rfc822`` part, or its headers alone
    (``text/rfc822-headers``)."""
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            returned = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(returned, Message):
                return _ids(returned.get("Message-ID"))
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            return _ids(HeaderParser().parsestr(text).get("Message-ID"))
    return []


def _ids(value: object) -> list[str]:
    return _ID.findall(str(value or ""))
