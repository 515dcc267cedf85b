"""Builds the adapter for every configured inbox and mounts its routes on the web app."""

from __future__ import annotations

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


def build_channels(
    config: Config,
    app: web.Application,
    desk: Desk,
    secret: bytes,
    *,
    redis: Redis | None = None,
) -> dict[str, Channel]:
    """``redis``, when given, is shared by the messengers' adapters with every other process:
    rate limits, the updates seen, aiogram's FSM states."""
    channels: dict[str, Channel] = {}
    default_chat = next((i.name for i in config.inbox if isinstance(i, WebchatInbox)), None)
    for inbox in config.inbox:
        if isinstance(inbox, WebchatInbox):
            chat = WebchatChannel(inbox, desk, secret, config.locale, config.web.secure_cookies)
            chat.mount(app, default=inbox.name == default_chat)
            channels[inbox.name] = chat
        elif isinstance(inbox, TelegramInbox):
            bot = TelegramChannel(inbox, desk, config.locale, config.web.base_url, redis=redis)
            bot.mount(app)
            channels[inbox.name] = bot
        elif isinstance(inbox, ViberInbox):
            viber = ViberChannel(inbox, desk, config.locale, config.web.base_url, redis=redis)
            viber.mount(app)
            channels[inbox.name] = viber
        elif isinstance(inbox, VkInbox):
            vk = VkChannel(inbox, desk, config.locale, redis=redis)
            vk.mount(app)
            channels[inbox.name] = vk
        elif isinstance(inbox, EmailInbox):
            mail = EmailChannel(inbox, desk, config.locale, config.var_dir, config.web.public_url)
            mail.mount(app)
            channels[inbox.name] = mail
    return channels
