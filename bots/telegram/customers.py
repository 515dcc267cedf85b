"""Customers writing to the bot in private chats."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bots.telegram import translate
from bots.telegram.limits import TelegramLimits, say
from core import agents
from core.clock import utcnow
from core.desk import Desk
from core.errors import Forbidden, InvalidInput, NotFound
from core.i18n import text
from settings.config import TelegramInbox

log = logging.getLogger("otklik.telegram")


def router() -> Router:
    """A fresh router (aiogram attaches a router to one dispatcher; each bot has its own)."""
    customers = Router(name="customers")
    customers.message.filter(F.chat.type == ChatType.PRIVATE)
    customers.edited_message.filter(F.chat.type == ChatType.PRIVATE)
    customers.message.register(
        link_agent, CommandStart(deep_link=True, magic=F.args.startswith("link-"))
    )
    customers.message.register(greet, CommandStart())
    customers.message.register(wrote)
    customers.edited_message.register(edited)
    return customers


async def greet(
    message: Message, inbox: TelegramInbox, limits: TelegramLimits, locale: str
) -> None:
    """/start: the greeting from the settings; no ticket is opened for it."""
    await say(limits, message, getattr(inbox.greeting, locale))


async def link_agent(
    message: Message, command: CommandObject, desk: Desk, limits: TelegramLimits, locale: str
) -> None:
    """/start link-<code>: an agent links this Telegram account (code from the web inbox)."""
    assert message.from_user is not None and command.args is not None
    code = command.args.removeprefix("link-")
    try:
        agent = await agents.link_telegram(desk.db, code, message.from_user.id, utcnow())
    except (Forbidden, InvalidInput) as exc:
        await say(limits, message, str(exc))
        return
    await say(limits, message, text(locale, "telegram.linked", name=agent.name))


async def wrote(
    message: Message, desk: Desk, inbox: TelegramInbox, limits: TelegramLimits, locale: str
) -> None:
    try:
        await desk.receive(translate.inbound(inbox.name, message))
    except InvalidInput:
        # A location, a contact, a poll…: nothing an agent could answer; say so, store nothing.
        await say(limits, message, text(locale, "telegram.unsupported"))


async def edited(message: Message, desk: Desk, inbox: TelegramInbox) -> None:
    try:
        await desk.edit(translate.edit(inbox.name, message))
    except NotFound:
        log.info("edit of message %s, which was never stored, ignored", message.message_id)
