"""The core's buttons as Telegram inline keyboards.

Callback data is ``b:<button id>``: a short opaque id the core resolves to the button and to
the chat it was sent to, never the payload itself (a payload would let a client forge choices,
and Telegram allows only 64 bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.messages import OutButton

PREFIX = "b:"
MAX_CALLBACK_BYTES = 64


def keyboard(buttons: Sequence[OutButton]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=pack(b.id))] for b in buttons
        ]
    )


def pack(button_id: str) -> str:
    data = PREFIX + button_id
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} is longer than {MAX_CALLBACK_BYTES} bytes")
    return data


def unpack(data: str | None) -> str | None:
    """The button id in callback data, or None when it is not ours."""
    if not data or not data.startswith(PREFIX) or len(data) > MAX_CALLBACK_BYTES:
        return None
    return data[len(PREFIX) :] or None
