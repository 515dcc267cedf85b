"""How a Viber client lays a keyboard out: buttons fill a grid 6 columns wide, left to right;
a button wider than what is left of a line starts the next one."""

from __future__ import annotations

from typing import Any

COLUMNS = 6


def lines(keyboard: dict[str, Any]) -> list[list[str]]:
    """The ``Text`` of the buttons, line by line, as the customer sees them."""
    shown: list[list[str]] = []
    left = 0
    for button in keyboard["Buttons"]:
        width = button.get("Columns", COLUMNS)
        if width > left:
            shown.append([])
            left = COLUMNS
        shown[-1].append(button["Text"])
        left -= width
    return shown
