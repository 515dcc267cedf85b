"""Assembles one Otklik process: database, core, web app, channel adapters, sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web

from bots.registry import build_channels
from core import agents
from core.bus import LocalBus
from core.channels import AgentChats
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.sender import RetryPolicy, Sender
from core.sla.hook import SlaHook
from core.surveys import load_surveys
from core.surveys.checks import unknown_surveys
from settings.config import Config
from settings.secret import signing_key
from web.app import create_app
from web.state import State

log = logging.getLogger("otklik.service")
SENDER = web.AppKey("sender", Sender)
ENGINE = web.AppKey("engine", Engine)


async def build_app(config: Config, clock: Callable[[], datetime] = utcnow) -> web.Application:
    """The whole service as one aiohttp app; the sender runs while the app runs."""
    db = Database(config.database.url)
    bus = LocalBus()
    desk = Desk(db, bus, clock=clock, zone=config.tz, locale=config.locale)
    await desk.sync_inboxes((i.name, i.channel) for i in config.inbox)
    rules = LiveRules(config.rules_dir, clock)
    rules.reload()
    surveys = load_surveys(config.surveys_dir)  # SurveysError: the service does not start
    for problem in unknown_surveys(rules.current, surveys):
        log.error("%s (the action will fail until the survey exists)", problem)
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
    chats = next((c for c in channels.values() if isinstance(c, AgentChats)), None)
    performer = Performer(config.locale, chats, surveys=surveys, base_url=config.web.base_url)
    sla = config.sla_policy
    engine = Engine(desk, rules, performer, clock=clock, sla=sla)
    desk.before_commit(SlaHook(sla))
    desk.before_commit(RuleHook(rules, engine.wake, sla))
    app[ENGINE] = engine
    app.cleanup_ctx.append(
        _background(
            db,
            ("sender", sender.run),
            ("rules", engine.run),
            ("rules-watch", rules.watch),
        )
    )
    return app


def _background(
    db: Database, *loops: tuple[str, Callable[[], Awaitable[None]]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Run ``loops`` while the app runs; on stop, cancel them (the rules engine first lets
    started runs finish) and close the database."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        tasks = {name: asyncio.create_task(loop(), name=f"otklik-{name}") for name, loop in loops}
        yield
        for task in tasks.values():
            task.cancel()
        # A bounded wait: stopping must never hang, even if a cancellation got lost.
        done, _ = await asyncio.wait(tasks.values(), timeout=10)
        for name, task in tasks.items():
            if task not in done:
                log.error("the %s loop did not stop within 10 s; leaving it behind", name)
            elif not task.cancelled() and task.exception():
                log.error("the %s loop had failed", name, exc_info=task.exception())
        await db.close()

    return run


async def first_admin_link(config: Config, db: Database) -> str | None:
    token = await agents.first_admin_setup(db, utcnow())
    return f"{config.web.base_url}/inbox/setup/{token}" if token else None
