"""The core's buttons as a VK keyboard of callback buttons.

A press comes back as a ``message_event`` carrying the button's payload ``{"b": "<id>"}``: a
short opaque id the core resolves to the button and the chat it was sent to, never the rule's
payload itself (a client could forge that). Labels are shortened to VK's 40 characters, and a
payload over 255 fails when built, not when VK refuses it.

Buttons of one row share a line, at most 5 a line (the core cuts longer rows evenly,
core/rows.py). An inline keyboard (in the message) holds at most 6 lines and 10 buttons; more
buttons (an NPS scale has 11) go in the keyboard under the input field, which holds 10 lines and
40 buttons (dev.vk.com, "Keyboard": 5 × 6 and 10 keys inline, 5 × 10 and 40 keys standard).
The core leaves out buttons beyond 40, and lines beyond 10 are left out here, with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vkbottle import Callback, Keyboard

from core.messages import OutButton
from core.rows import rows

log = logging.getLogger("otklik.vk")
PER_ROW = 5
MAX_INLINE_ROWS, MAX_INLINE_BUTTONS = 6, 10
MAX_ROWS, MAX_BUTTONS = 10, 40
MAX_LABEL = 40
MAX_PAYLOAD = 255
EMPTY = json.dumps({"inline": True, "buttons": []})  # an edit with it removes the keyboard
# Sent with the next message, it takes a keyboard under the input field away.
EMPTY_STANDARD = json.dumps({"one_time": False, "buttons": []})


@dataclass(frozen=True)
class Board:
    """A keyboard's JSON for ``messages.send``; ``inline``: shown in the message."""

    json: str
    inline: bool


def payload(button_id: str) -> str:
    packed = json.dumps({"b": button_id}, separators=(",", ":"))
    if len(packed) > MAX_PAYLOAD:
        raise ValueError(f"button id {button_id!r} makes a payload over {MAX_PAYLOAD} characters")
    return packed


def button_id(data: Any) -> str | None:
    """The button id in a press's payload (an object, or its JSON text); None if none."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    found = data.get("b") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def keyboard(buttons: Sequence[OutButton]) -> Board | None:
    """The buttons in lines: inline when they fit in one, else under the input field."""
    if not buttons:
        return None
    lines = rows(buttons)
    inline = len(lines) <= MAX_INLINE_ROWS and len(buttons) <= MAX_INLINE_BUTTONS
    board = Keyboard(inline=inline)
    for line in lines[:MAX_ROWS]:
        board.row()
        for b in line:
            board.add(Callback(label(b.label), payload=payload(b.id)))
    if len(lines) > MAX_ROWS:
        log.warning("%d lines of buttons are more than a VK keyboard holds", len(lines))
    return Board(board.get_json(), inline)
