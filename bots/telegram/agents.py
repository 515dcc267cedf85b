"""Agents working tickets from the forum supergroup: a topic per ticket.

In a ticket's topic, a linked agent's message goes to the customer as their reply; commands:
/close, /wait, /open, /assign me|login, /take (take it into work and tell the customer),
/note text, /rate (a new rating request to the customer, 👍/👎, valid 7 days). Anyone else is
refused with a hint, and nothing they write reaches the customer.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bots.telegram.forum import Forum
from bots.telegram.limits import TelegramLimits, say
from core import agents, threads
from core.desk import Desk
from core.errors import OtklikError
from core.i18n import text
from core.models import Agent, TicketStatus
from core.scales import Scale

RATE_VALID = timedelta(days=7)
_STATUS = {"close": TicketStatus.CLOSED, "wait": TicketStatus.WAITING, "open": TicketStatus.OPEN}


def router(chat_id: int) -> Router:
    forum = Router(name="agents")
    forum.message.filter(F.chat.id == chat_id, F.message_thread_id, ~F.from_user.is_bot)
    forum.message.register(command, Command(*_STATUS, "assign", "take", "note", "rate"))
    forum.message.register(reply, F.text)
    return forum


async def command(
    message: Message,
    command: CommandObject,
    desk: Desk,
    forum: Forum,
    limits: TelegramLimits,
    locale: str,
) -> None:
    found = await _ticket_and_agent(message, desk, forum, limits, locale)
    if found is None:
        return
    number, agent = found
    name, args = command.command, (command.args or "").strip()
    try:
        if name in _STATUS:
            await desk.set_status(number, agent, _STATUS[name])
        elif name == "assign":
            target = (
                agent if args in ("", "me") else await agents.by_login(desk.db, args.lstrip("@"))
            )
            if target is None:
                await say(
                    limits, message, text(locale, "telegram.no_such_agent", login=args), reply=True
                )
                return
            await desk.assign(number, agent, target.id)
            await say(
                limits, message, text(locale, "telegram.assigned", name=target.name), reply=True
            )
        elif name == "take":
            await desk.take(number, agent)
            await say(limits, message, text(locale, "telegram.taken"), reply=True)
        elif name == "note":
            if not args:
                await say(limits, message, text(locale, "telegram.note_usage"), reply=True)
                return
            await desk.note(number, agent, args, origin=forum.origin)
            await say(limits, message, text(locale, "telegram.noted"), reply=True)
        else:  # /rate: the customer gets a new rating request, crediting the assignee
            asking = text(locale, "rating.ask", number=number)
            origin = f"agent:{agent.login}"
            await desk.request_rating(number, Scale.BINARY, RATE_VALID, asking, origin)
            await say(limits, message, text(locale, "telegram.rate_sent"), reply=True)
    except OtklikError as exc:
        await say(limits, message, str(exc), reply=True)


async def reply(
    message: Message, desk: Desk, forum: Forum, limits: TelegramLimits, locale: str
) -> None:
    found = await _ticket_and_agent(message, desk, forum, limits, locale)
    if found is None:
        return
    number, agent = found
    try:
        await desk.reply(number, agent, message.text or "", origin=forum.origin)
    except OtklikError as exc:
        await say(limits, message, str(exc), reply=True)


async def _ticket_and_agent(
    message: Message, desk: Desk, forum: Forum, limits: TelegramLimits, locale: str
) -> tuple[int, Agent] | None:
    """The topic's ticket and the linked agent who wrote, or None after saying why not."""
    assert message.from_user is not None
    agent = await agents.by_telegram(desk.db, message.from_user.id)
    if agent is None:
        await say(limits, message, text(locale, "telegram.not_linked"), reply=True)
        return None
    thread = await threads.at(
        desk.db, forum.inbox.name, str(message.chat.id), str(message.message_thread_id)
    )
    if thread is None:
        await say(limits, message, text(locale, "telegram.no_ticket_here"), reply=True)
        return None
    return thread.ticket_number, agent
