"""The core's buttons as a Viber keyboard of ``reply`` buttons.

A button's ``ActionBody`` is ``otk:b:<button id>``: a short opaque id the core resolves to the
button and the chat it was sent to, never the payload itself. Pressing it makes the client
send that text as a message (silently, so the customer's chat does not show it); the webhook
turns such a message into a press.

Viber lays buttons out on a grid 6 columns wide, filling each line before the next: a row of
``n`` buttons takes ``6 // n`` columns each, the first ``6 % n`` one more, so every row fills
its line and the next row starts a new one (at most 6 buttons a line: the core cuts longer
rows, core/rows.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from core.messages import OutButton
from core.rows import rows

COLUMNS = 6
PREFIX = "otk:b:"
_PRESS = re.compile(r"^otk:b:([A-Za-z0-9_-]{1,32})$")
# ``Silent`` buttons need clients of API version 6 or later (Viber 9 and newer apps).
KEYBOARD_API_VERSION = 6


def keyboard(buttons: Sequence[OutButton]) -> dict[str, Any] | None:
    if not buttons:
        return None
    return {
        "Type": "keyboard",
        "DefaultHeight": False,
        "Buttons": [
            {
                "ActionType": "reply",
                "ActionBody": f"{PREFIX}{b.id}",
                "Text": html.escape(b.label, quote=False),
                "Columns": width,
                "Rows": 1,
                "Silent": True,
            }
            for line in rows(buttons)
            for b, width in zip(line, widths(len(line)), strict=True)
        ],
    }


def widths(count: int) -> list[int]:
    """The columns of each of ``count`` buttons sharing a line, filling it."""
    size, wider = divmod(COLUMNS, count)
    return [size + (1 if i < wider else 0) for i in range(count)]


def pressed(text: str | None) -> str | None:
    """The button id a message's text carries when it is a press, else None."""
    found = _PRESS.match(text.strip()) if text else None
    return found.group(1) if found else None
