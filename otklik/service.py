"""Assembles one Otklik process of a role (otklik.roles): database, core, web app, channel
adapters, and the loops the role runs while the app runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from bots.registry import build_channels, pollers
from core import agents
from core.bus import EventBus, LocalBus
from core.channels import AgentChats
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.leader import Alone, Leadership
from core.redisbus import RedisBus
from core.sender import RetryPolicy, Sender
from core.sla.hook import SlaHook
from core.stopping import unless_stopped
from core.surveys import load_surveys
from core.surveys.checks import unknown_surveys
from otklik import roles
from otklik.roles import Role
from settings.config import Config
from settings.secret import signing_key
from web.app import create_app
from web.state import State

log = logging.getLogger("otklik.service")
SENDER = web.AppKey("sender", Sender)
ENGINE = web.AppKey("engine", Engine)
WAKE = "wake"  # the bus topic that tells workers what a web process wrote: {"loop": ...}
Loop = tuple[str, Callable[[], Awaitable[None]]]


async def build_app(
    config: Config, clock: Callable[[], datetime] = utcnow, role: Role = Role.ALL
) -> web.Application:
    """The service as one aiohttp app; the role's loops run while the app runs."""
    roles.check(role, config.redis.url)
    redis = _redis(config.redis.url) if config.redis.url else None
    prefix = config.redis.prefix
    bus: EventBus = RedisBus(redis, stream=f"{prefix}:events") if redis else LocalBus()
    pool = config.database
    db = Database(pool.url, pool_size=pool.pool_size, max_overflow=pool.max_overflow)
    desk = Desk(db, bus, clock=clock, zone=config.tz, locale=config.locale)
    await desk.sync_inboxes((i.name, i.channel) for i in config.inbox)
    rules = LiveRules(config.rules_dir, clock)
    rules.reload()
    surveys = load_surveys(config.surveys_dir)  # SurveysError: the service does not start
    for problem in unknown_surveys(rules.current, surveys):
        log.error("%s (the action will fail until the survey exists)", problem)
    leadership = Leadership(redis, _name(bus), key=f"{prefix}:leader") if redis else Alone()
    state = State(
        config,
        db,
        desk,
        bus,
        signing_key(config),
        clock,
        rules,
        leadership=leadership,
        works=role.works,
    )
    app = create_app(state, pages=role.serves)
    channels = build_channels(config, app, desk, state.secret, redis=redis, routes=role.serves)
    state.channels.update(channels)
    sender = _sender(config, db, channels, bus, clock)
    chats = next((c for c in channels.values() if isinstance(c, AgentChats)), None)
    performer = Performer(config.locale, chats, surveys=surveys, base_url=config.web.base_url)
    sla = config.sla_policy
    lease = timedelta(seconds=config.worker.lease_seconds)
    engine = Engine(desk, rules, performer, clock=clock, sla=sla, lease=lease)
    app[SENDER] = sender
    app[ENGINE] = engine
    loops: list[Loop] = [("bus", bus.run), ("rules-watch", rules.watch)]
    if role.works:
        desk.on_outbox(sender.wake)
        wake_rules = engine.wake
        bus.listen(WAKE, _waking({"sender": sender.wake, "rules": engine.wake}))
        duties = [*pollers(channels)]
        if isinstance(bus, RedisBus):
            duties.append(("bus-groups", bus.consume))
        loops += [
            ("sender", sender.run),
            ("rules", engine.run),
            ("leader", lambda: leadership.run(lambda: _all(duties))),
        ]
    else:  # the workers claim what this process wrote; tell them not to wait for their poll
        desk.on_outbox(lambda: bus.tell(WAKE, {"loop": "sender"}))

        def wake_rules() -> None:
            bus.tell(WAKE, {"loop": "rules"})

    desk.before_commit(SlaHook(sla))
    desk.before_commit(RuleHook(rules, wake_rules, sla))
    app.cleanup_ctx.append(_background(db, redis, *loops))
    log.info("role %s%s", role, " over Redis" if redis else "")
    return app


def _redis(url: str) -> Redis:
    # Short timeouts: a Redis that hangs must not hold a commit's publish or a webhook long.
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def _name(bus: EventBus) -> str:
    return bus.consumer if isinstance(bus, RedisBus) else "this process"


def _sender(
    config: Config,
    db: Database,
    channels: dict[str, Any],
    bus: EventBus,
    clock: Callable[[], datetime],
) -> Sender:
    s = config.sender
    policy = RetryPolicy(
        max_attempts=s.max_attempts,
        first_retry=timedelta(seconds=s.first_retry_seconds),
        max_retry=timedelta(seconds=s.max_retry_seconds),
        lease=timedelta(seconds=s.lease_seconds),
    )
    return Sender(db, channels, bus, policy, clock=clock, locale=config.locale)


def _waking(wakes: dict[str, Callable[[], None]]) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def wake(told: dict[str, Any]) -> None:
        if callback := wakes.get(told.get("loop", "")):
            callback()

    return wake


async def _all(loops: list[Loop]) -> None:
    """Run ``loops`` side by side, each restarted after a failure, until cancelled."""
    if not loops:
        await asyncio.Event().wait()  # nothing to do but hold the lead
    async with asyncio.TaskGroup() as tasks:
        for name, loop in loops:
            tasks.create_task(_restarting(name, loop), name=f"otklik-{name}")


async def _restarting(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    pause = 1.0
    while True:
        try:
            await loop()
            return
        except Exception:
            unless_stopped()
            log.exception("%s failed; starting it again in %.0f s", name, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 60.0)


def _background(
    db: Database, redis: Redis | None, *loops: Loop
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Run ``loops`` while the app runs; on stop, cancel them (the rules engine first lets
    started runs finish) and close the database and Redis."""

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
        if redis is not None:
            await redis.aclose()

    return run


async def first_admin_link(config: Config, db: Database) -> str | None:
    token = await agents.first_admin_setup(db, utcnow())
    return f"{config.web.base_url}/inbox/setup/{token}" if token else None
