"""The core's buttons as Telegram inline keyboards.

Callback data is ``b:<button id>`` (aiogram's CallbackData): a short opaque id the core
resolves to the button and to the chat it was sent to, never the payload itself (a payload
would let a client forge choices, and Telegram allows only 64 bytes). Packing refuses data
over 64 bytes when the keyboard is built, not when Telegram rejects it. Buttons of one row share
a line, at most 8 a line (Telegram's limit, PER_ROW: the core cuts longer rows).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.messages import OutButton
from core.rows import rows

PER_ROW = 8


class ButtonData(CallbackData, prefix="b"):
    id: str


def keyboard(buttons: Sequence[OutButton]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=b.label, callback_data=ButtonData(id=b.id).pack())
                for b in line
            ]
            for line in rows(buttons)
        ]
    )
