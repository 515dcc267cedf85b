"""A web chat visitor's identity: a random id in a cookie, signed so it cannot be made up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def _sign(secret: bytes, inbox: str, visitor: str) -> str:
    mac = hmac.new(secret, f"webchat:{inbox}:{visitor}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def new_cookie(secret: bytes, inbox: str) -> tuple[str, str]:
    """A fresh visitor id and the cookie value that carries it."""
    visitor = secrets.token_urlsafe(16)
    return visitor, f"{visitor}.{_sign(secret, inbox, visitor)}"


def visitor_of(secret: bytes, inbox: str, cookie: str | None) -> str | None:
    """The visitor id in a cookie, or None if the cookie is missing or its signature is wrong."""
    if not cookie or cookie.count(".") != 1:
        return None
    visitor, signature = cookie.split(".")
    # Compared as bytes: compare_digest refuses str with non-ASCII in it (a TypeError, a 500).
    expected = _sign(secret, inbox, visitor).encode()
    if not visitor or not hmac.compare_digest(signature.encode(), expected):
        return None
    return visitor
