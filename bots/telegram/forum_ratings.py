"""Ratings as read-only lines in a ticket's forum topic: agents see them, never edit them."""

from __future__ import annotations

from typing import Any

from core import events
from core.i18n import text
from core.scales import SCALES, Scale

MIRRORED = {events.RATING_RECEIVED, events.RATING_COMMENTED}


def shown(rating: dict[str, Any]) -> str:
    """``👍``; ``🙂 4/5``; ``7/10``: the label the scale gives the value, out of its best."""
    spec = SCALES[Scale(rating["scale"])]
    value = rating["value"]
    label = dict(zip(spec.values, spec.labels, strict=True)).get(value, str(value))
    if spec.low == 0 and spec.high == 1:
        return label
    out_of = f"{value}/{spec.high}"
    return out_of if label == str(value) else f"{label} {out_of}"


def line(locale: str, name: str, data: dict[str, Any]) -> str:
    """The topic's line for a ``rating.received`` or ``rating.commented`` event."""
    rating, who = data["rating"], data["customer"]["name"]
    if name == events.RATING_COMMENTED:
        return text(locale, "telegram.rating_commented", name=who, comment=rating["comment"])
    key = "telegram.rating_replaced" if rating.get("replaced") else "telegram.rating_received"
    return text(locale, key, name=who, shown=shown(rating))
