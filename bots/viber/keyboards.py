"""The core's buttons as a Viber keyboard of ``reply`` buttons.

A button's ``ActionBody`` is ``otk:b:<button id>``: a short opaque id the core resolves to the
button and the chat it was sent to, never the payload itself. Pressing it makes the client
send that text as a message (silently, so the customer's chat does not show it); the webhook
turns such a message into a press.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from core.messages import OutButton

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
                "Columns": 6,
                "Rows": 1,
                "Silent": True,
            }
            for b in buttons
        ],
    }


def pressed(text: str | None) -> str | None:
    """The button id a message's text carries when it is a press, else None."""
    found = _PRESS.match(text.strip()) if text else None
    return found.group(1) if found else None
