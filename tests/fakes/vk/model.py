"""What the fake VK keeps: users, dialogs and their messages, recorded calls, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

# VK's error texts for the codes tests inject.
ERRORS = {
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    9: "Flood control",
    10: "Internal server error",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    902: "Can't send messages to this user due to their privacy settings",
    911: "Keyboard format is invalid",
    914: "Message is too long",
}


class VkError(Exception):
    """An error answer of the API: ``{"error": {"error_code", "error_msg", ...}}``."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or ERRORS.get(code, f"error {code}"))
        self.code = code
        self.message = message or ERRORS.get(code, f"error {code}")

    def envelope(self, method: str, params: Json) -> Json:
        shown = [{"key": k, "value": str(v)} for k, v in params.items() if k != "access_token"]
        return {
            "error": {
                "error_code": self.code,
                "error_msg": self.message,
                "request_params": [{"key": "method", "value": method}, *shown],
            }
        }


@dataclass(frozen=True)
class VkUser:
    id: int
    first_name: str
    last_name: str = ""

    def to_dict(self) -> Json:
        return {"id": self.id, "first_name": self.first_name, "last_name": self.last_name}


@dataclass
class StoredMessage:
    """A message in a dialog, numbered in the dialog (``conversation_message_id``)."""

    id: int
    peer_id: int
    cmid: int
    from_id: int
    text: str
    random_id: int = 0
    keyboard: Json | None = None
    edits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    method: str
    params: Json


@dataclass
class Fault:
    """The next call of ``method`` fails: with VK error ``code`` before doing anything, or,
    when ``lose_answer``, after doing it, with a 502 page instead of the answer."""

    method: str
    code: int | None = None
    lose_answer: bool = False
    times: int = 1
    after: int = 0  # calls of the method let through before it fails
