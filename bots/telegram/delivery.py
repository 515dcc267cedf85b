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

from bots.telegram.keyboards import PER_ROW, keyboard
from bots.telegram.limits import TelegramLimits
from core.channels import ButtonStyle, Capabilities, DeliveryError, Sent
from core.messages import Outbound, split_text

MAX_TEXT = 4096  # sendMessage: 1-4096 characters (UTF-16 code units) after entities parsing
# What a bot offers the core: inline keyboards with callback buttons, edits of its own
# messages (a press's choice is shown in it). Files are not sent: they go as links (a file's
# caption, 1024 units, will be a limit to declare once files are sent).
CAPABILITIES = Capabilities(
    max_text=MAX_TEXT,
    utf16=True,
    buttons=ButtonStyle.CALLBACK,
    buttons_per_row=PER_ROW,
    edits=True,
)


async def send(bot: Bot, out: Outbound, limits: TelegramLimits | None = None) -> Sent:
    """Send ``out``, one message fitted to CAPABILITIES by the core, within the bot's
    ``limits``."""
    chat_id = int(out.external_id)
    with refusals():
        async with limits.sending(chat_id) if limits else contextlib.nullcontext():
            sent = await bot.send_message(
                chat_id=chat_id, text=out.text, reply_markup=keyboard(out.buttons)
            )
    return Sent(platform_message_id=f"{out.external_id}:{sent.message_id}")


async def tell(bot: Bot, chat_id: int, text: str, limits: TelegramLimits) -> None:
    """A plain message to a private chat (an agent's), within the limits."""
    with refusals():
        for chunk in split_text(text, MAX_TEXT, utf16=True):
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
