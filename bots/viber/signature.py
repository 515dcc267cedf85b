"""Viber signs every callback: ``X-Viber-Content-Signature`` is the hex HMAC-SHA256 of the raw
body keyed by the bot's token."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Viber-Content-Signature"


def sign(body: bytes, token: str) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def valid(body: bytes, given: str | None, token: str) -> bool:
    """Whether ``given`` signs ``body``, compared in constant time."""
    if not given:
        return False
    expected = sign(body, token).encode()
    return hmac.compare_digest(given.strip().lower().encode("utf-8", "replace"), expected)
