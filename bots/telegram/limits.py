"""Telegram's flood limits for one bot, kept around every message it sends.

Telegram lets a bot send about 30 messages per second in all, one message per second to one
chat, and 20 messages per minute to one group (negative chat ids: groups, supergroups and
channels); beyond them it answers 429 with the seconds to wait. A message counts from when it
is sent until a second (a minute, for groups) after Telegram answered it, so however late a
request leaves or long it travels, Telegram never sees more than the limits allow.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aiogram.types import Message

from core.ratelimit import Limiter, RateLimiter, Rule


@dataclass(frozen=True)
class Limit:
    messages: int
    seconds: float

    def rule(self, key: str) -> Rule:
        return Rule(key, self.messages, self.seconds)


PER_BOT = Limit(30, 1.0)
PER_PRIVATE_CHAT = Limit(1, 1.0)
PER_GROUP = Limit(20, 60.0)


def rules(chat_id: int) -> tuple[Rule, Rule]:
    """What one message to ``chat_id`` counts against."""
    per_chat = PER_GROUP if chat_id < 0 else PER_PRIVATE_CHAT
    return PER_BOT.rule("bot"), per_chat.rule(f"chat:{chat_id}")


class TelegramLimits:
    """One bot's limits: ``async with limits.sending(chat_id): <send one message>``.

    ``limiter`` is this process's own by default; one shared through Redis
    (``core.ratelimit_redis``) keeps the limits for all processes sending for the bot.
    """

    def __init__(self, limiter: Limiter | None = None) -> None:
        self._limiter = limiter or RateLimiter()

    def sending(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Enter when one more message to ``chat_id`` may go; leave once Telegram answered."""
        return self._limiter.slot(*rules(chat_id))


async def say(limits: TelegramLimits, message: Message, words: str, *, reply: bool = False) -> None:
    """Answer in the chat of ``message`` (as a reply to it when ``reply``), within the limits."""
    async with limits.sending(message.chat.id):
        await (message.reply if reply else message.answer)(words)
