"""Sending to Telegram, and what its refusals mean for the sender."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bots.telegram.keyboards import keyboard
from bots.telegram.limits import TelegramLimits
from core.channels import DeliveryError, Sent
from core.messages import Outbound, split_text

MAX_TEXT = 4096


async def send(
    bot: Bot,
    out: Outbound,
    thread_id: int | None = None,
    limits: TelegramLimits | None = None,
) -> Sent:
    """Send ``out`` to its chat (long texts in several messages, buttons on the last one),
    each message within the bot's ``limits``."""
    chat_id = int(out.external_id)
    chunks = split_text(out.text, MAX_TEXT)
    first = None
    with refusals():
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            async with limits.sending(chat_id) if limits else contextlib.nullcontext():
                sent = await bot.send_message(
                    chat_id=chat_id,
                    text=chunk,
                    message_thread_id=thread_id,
                    reply_markup=keyboard(out.buttons) if last else None,
                )
            first = first or sent
    assert first is not None
    return Sent(platform_message_id=f"{out.external_id}:{first.message_id}")


async def tell(bot: Bot, chat_id: int, text: str, limits: TelegramLimits) -> None:
    """A plain message to a private chat (an agent's), within the limits."""
    with refusals():
        for chunk in split_text(text, MAX_TEXT):
            async with limits.sending(chat_id):
                await bot.send_message(chat_id=chat_id, text=chunk)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Telegram's errors as DeliveryError: permanent when retrying cannot help."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise DeliveryError(
            f"Telegram flood control: retry after {exc.retry_after}s", retry_after=exc.retry_after
        ) from exc
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        # Blocked by the user, chat not found, deactivated…: retrying will not help.
        raise DeliveryError(f"Telegram refused: {exc.message}", permanent=True) from exc
    except (TelegramNetworkError, TelegramServerError) as exc:
        raise DeliveryError(f"Telegram unreachable: {exc.message}") from exc
    except TelegramAPIError as exc:
        raise DeliveryError(f"Telegram error: {exc.message}") from exc
