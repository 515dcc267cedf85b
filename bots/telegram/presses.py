"""Inline keyboard presses: recorded by the core, answered at once, the choice shown."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bots.telegram.keyboards import ButtonData
from core.desk import Desk
from core.errors import ButtonRefused
from core.i18n import text
from core.messages import Press
from settings.config import TelegramInbox

log = logging.getLogger("otklik.telegram")


def router() -> Router:
    presses = Router(name="presses")
    presses.callback_query.register(pressed, ButtonData.filter())
    presses.callback_query.register(not_ours)
    return presses


async def not_ours(query: CallbackQuery, locale: str) -> None:
    """Data that is no button of ours: answered, so the client stops waiting; nothing else."""
    await _answer(query, text(locale, "telegram.refused"))


async def pressed(
    query: CallbackQuery, callback_data: ButtonData, desk: Desk, inbox: TelegramInbox, locale: str
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    chat = message.chat.id if message else query.from_user.id
    try:
        got = await desk.press(
            Press(inbox.name, str(chat), callback_data.id, platform_event_id=query.id)
        )
    except ButtonRefused as exc:
        await _answer(query, text(locale, exc.key or "telegram.refused"))
        return
    await _answer(query)
    if message and not got.duplicate and got.first_press:
        await _show_choice(message, _label(message, query.data))


async def _answer(query: CallbackQuery, said: str | None = None) -> None:
    """Answer the press; Telegram refuses an answer to a query older than about 15 seconds
    (an update delivered again later): the press is stored all the same, so the update must
    not fail for it, or Telegram would deliver it again and again."""
    try:
        await query.answer(said)
    except TelegramBadRequest as exc:
        log.info("press %s could not be answered: %s", query.id, exc)


def _label(message: Message, data: str | None) -> str:
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup else []
    return next((b.text for row in rows for b in row if b.callback_data == data), "")


async def _show_choice(message: Message, label: str) -> None:
    """Replace the keyboard by the choice made; an old message keeps its keyboard."""
    try:
        if message.text:
            await message.edit_text(f"{message.text}\n\n✅ {label}", reply_markup=None)
        else:
            await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:
        log.info("message %s could not be edited after a press: %s", message.message_id, exc)
