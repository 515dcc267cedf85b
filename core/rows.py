"""The core's buttons in lines, the way every chat channel lays them out.

Buttons with the same ``row`` share a line, lines in the order of their first button. A line
longer than a channel allows is cut into as few lines as fit, as even as can be (6 buttons,
at most 5 a line: 3 + 3, not 5 + 1). The core cuts the lines to the channel's
``buttons_per_row`` before the adapter sees them (core/adapt.py); adapters only group them.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.messages import OutButton


def rows(buttons: Sequence[OutButton], per_row: int | None = None) -> list[list[OutButton]]:
    lines: dict[int, list[OutButton]] = {}
    for button in buttons:
        lines.setdefault(button.row, []).append(button)
    if per_row is None:
        return list(lines.values())
    return [piece for line in lines.values() for piece in split(line, per_row)]


def split(line: list[OutButton], per_row: int) -> list[list[OutButton]]:
    """``line`` in the fewest lines of at most ``per_row``, the longer ones first."""
    count = -(-len(line) // per_row)
    size, longer = divmod(len(line), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < longer else 0)
        pieces.append(line[start:end])
        start = end
    return pieces
