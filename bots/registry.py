"""Builds the adapter for every configured inbox and mounts its routes on the web app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aiohttp import web
from redis.asyncio import Redis

from bots.email.channel import EmailChannel
from bots.telegram.channel import TelegramChannel
from bots.viber.channel import ViberChannel
from bots.vk.channel import VkChannel
from bots.webchat.channel import WebchatChannel
from core.channels import Channel
from core.desk import Desk
from settings.config import (
    Config,
    EmailInbox,
    TelegramInbox,
    ViberInbox,
    VkInbox,
    WebchatInbox,
)


@runtime_checkable
class Polled(Protocol):
    """An adapter that may fetch its updates itself (Telegram polling, VK long poll, IMAP)."""

    @property
    def polls(self) -> bool: ...

    async def poll(self) -> None:
        """Fetch and handle updates until cancelled."""
        ...


def build_channels(
    config: Config,
    app: web.Application,
    desk: Desk,
    secret: bytes,
    *,
    redis: Redis | None = None,
    routes: bool = True,
) -> dict[str, Channel]:
    """Every inbox's adapter. ``redis``, when given, is shared by the messengers' adapters with
    every other process: rate limits, the updates seen, aiogram's FSM states (under ``[redis]
    prefix``). ``routes``: mount the webhooks and pages (a web process)."""
    prefix = config.redis.prefix
    channels: dict[str, Channel] = {}
    default_chat = next((i.name for i in config.inbox if isinstance(i, WebchatInbox)), None)
    for inbox in config.inbox:
        if isinstance(inbox, WebchatInbox):
            chat = WebchatChannel(inbox, desk, secret, config.locale, config.web.secure_cookies)
            if routes:
                chat.mount(app, default=inbox.name == default_chat)
            channels[inbox.name] = chat
        elif isinstance(inbox, TelegramInbox):
            bot = TelegramChannel(
                inbox, desk, config.locale, config.web.base_url, redis=redis, prefix=prefix
            )
            bot.mount(app, routes=routes)
            channels[inbox.name] = bot
        elif isinstance(inbox, ViberInbox):
            viber = ViberChannel(
                inbox, desk, config.locale, config.web.base_url, redis=redis, prefix=prefix
            )
            viber.mount(app, routes=routes)
            channels[inbox.name] = viber
        elif isinstance(inbox, VkInbox):
            vk = VkChannel(inbox, desk, config.locale, redis=redis, prefix=prefix)
            vk.mount(app, routes=routes)
            channels[inbox.name] = vk
        elif isinstance(inbox, EmailInbox):
            mail = EmailChannel(inbox, desk, config.locale, config.var_dir, config.web.public_url)
            mail.mount(app, routes=routes)
            channels[inbox.name] = mail
    return channels


def pollers(channels: dict[str, Channel]) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """The loops of the inboxes that fetch their updates, by inbox name."""
    return [
        (name, channel.poll)
        for name, channel in channels.items()
        if isinstance(channel, Polled) and channel.polls
    ]
