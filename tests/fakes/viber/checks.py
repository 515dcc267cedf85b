"""What Viber refuses in a ``send_message`` request, with its status codes and messages."""

from __future__ import annotations

from typing import Any

MISSING_DATA = 4
BAD_DATA = 3
MAX_TEXT = 7000
MAX_SENDER_NAME = 28
ACTION_TYPES = {"reply", "open-url", "location-picker", "share-phone", "none"}
MAX_BUTTONS = 24
MAX_ACTION_BODY = 250


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def message(body: dict[str, Any]) -> None:
    """Raise Refusal for what Viber would refuse in this message."""
    for key in ("receiver", "type", "sender"):
        if not body.get(key):
            raise Refusal(MISSING_DATA, f"missingData: {key}")
    name = body["sender"].get("name") if isinstance(body["sender"], dict) else None
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_SENDER_NAME:
        raise Refusal(BAD_DATA, "badData: sender.name must be 1-28 characters")
    if body["type"] != "text":
        raise Refusal(BAD_DATA, f"badData: the fake only sends text, not {body['type']!r}")
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise Refusal(MISSING_DATA, "missingData: text")
    if len(text) > MAX_TEXT:
        raise Refusal(BAD_DATA, f"badData: text is {len(text)} characters, max {MAX_TEXT}")
    if "keyboard" in body:
        keyboard(body["keyboard"])


def keyboard(board: Any) -> None:
    if not isinstance(board, dict) or board.get("Type") != "keyboard":
        raise Refusal(BAD_DATA, 'keyboard is not valid. [object has missing required ("Type")]')
    buttons = board.get("Buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise Refusal(BAD_DATA, "keyboard is not valid. [Buttons: 1-24 buttons expected]")
    for i, button in enumerate(buttons):
        if not isinstance(button, dict) or button.get("ActionType", "reply") not in ACTION_TYPES:
            raise Refusal(BAD_DATA, f"keyboard is not valid. [Buttons[{i}].ActionType]")
        body = button.get("ActionBody")
        if not isinstance(body, str) or not 1 <= len(body) <= MAX_ACTION_BODY:
            raise Refusal(BAD_DATA, f"keyboard is not valid. [Buttons[{i}].ActionBody]")
        if not 1 <= button.get("Columns", 6) <= 6 or not 1 <= button.get("Rows", 1) <= 2:
            raise Refusal(BAD_DATA, f"keyboard is not valid. [Buttons[{i}] size]")
