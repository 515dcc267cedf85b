"""The core's buttons as a VK inline keyboard of callback buttons.

A press comes back as a ``message_event`` carrying the button's payload ``{"b": "<id>"}``: a
short opaque id the core resolves to the button and the chat it was sent to, never the rule's
payload itself (a client could forge that). VK allows at most 6 rows in an inline keyboard,
40 characters in a label and 255 in a payload: labels are shortened and rows shared when
building, and a payload too long fails when built, not when VK refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vkbottle import Callback, Keyboard

from core.messages import OutButton

MAX_ROWS = 6
MAX_LABEL = 40
MAX_PAYLOAD = 255
EMPTY = json.dumps({"inline": True, "buttons": []})  # an edit with it removes the keyboard


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


def keyboard(buttons: Sequence[OutButton]) -> str | None:
    """The keyboard's JSON for ``messages.send``: one button a row, the last row taking the
    rest when there are more buttons than VK's 6 rows."""
    if not buttons:
        return None
    board = Keyboard(inline=True)
    for i, b in enumerate(buttons):
        if i < MAX_ROWS:
            board.row()
        board.add(Callback(label(b.label), payload=payload(b.id)))
    return board.get_json()
