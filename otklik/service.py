"""Assembles one Otklik process: database, core, web app, channel adapters, sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from aiohttp import web

from bots.registry import build_channels
from core import agents
from core.bus import LocalBus
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.sender import RetryPolicy, Sender
from settings.config import Config
from settings.secret import signing_key
from web.app import create_app
from web.state import State

log = logging.getLogger("otklik.service")
SENDER = web.AppKey("sender", Sender)


async def build_app(config: Config, clock: Callable[[], datetime] = utcnow) -> web.Application:
    """The whole service as one aiohttp app; the sender runs while the app runs."""
    db = Database(config.database.url)
    bus = LocalBus()
    desk = Desk(db, bus, clock=clock)
    await desk.sync_inboxes((i.name, i.channel) for i in config.inbox)
    rules = LiveRules(config.rules_dir, clock)
    rules.reload()
    state = State(config, db, desk, bus, signing_key(config), clock, rules)
    app = create_app(state)
    channels = build_channels(config, app, desk, state.secret)
    state.channels.update(channels)
    s = config.sender
    sender = Sender(
        db,
        channels,
        bus,
        RetryPolicy(
            max_attempts=s.max_attempts,
            first_retry=timedelta(seconds=s.first_retry_seconds),
            max_retry=timedelta(seconds=s.max_retry_seconds),
            lease=timedelta(seconds=s.lease_seconds),
        ),
        clock=clock,
        locale=config.locale,
    )
    desk.on_outbox(sender.wake)
    app[SENDER] = sender
    app.cleanup_ctx.append(_background(sender, db))
    return app


def _background(sender: Sender, db: Database) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sender.run(), name="otklik-sender")
        yield
        task.cancel()
        # A bounded wait: stopping must never hang, even if a cancellation got lost.
        done, _ = await asyncio.wait({task}, timeout=5)
        if not done:
            log.error("the sender did not stop within 5 s; leaving it behind")
        await db.close()

    return run


async def first_admin_link(config: Config, db: Database) -> str | None:
    token = await agents.first_admin_setup(db, utcnow())
    return f"{config.web.base_url}/inbox/setup/{token}" if token else None
