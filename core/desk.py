"""The Desk: the core's verbs. Each runs as one transaction; its events go out after commit."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import bounces, edits, inbound, presses, ratings, reach, tickets
from core.bus import EventBus
from core.clock import utcnow
from core.db import Database, transient
from core.inbound import Received
from core.inboxes import Inboxes
from core.logctx import bound
from core.messages import Button, Edit, Inbound, Press
from core.models import (
    Agent,
    Inbox,
    Message,
    Rating,
    RatingRequest,
    SurveyRequest,
    Ticket,
    TicketStatus,
)
from core.surveys import Survey
from core.surveys import requests as surveys
from core.work import Batch, Work, facts_of

T = TypeVar("T")
Hook = Callable[[Work], Awaitable[None]]
log = logging.getLogger("otklik.core")
_RETRIES = 3


class Desk:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_outbox: Callable[[], None] | None = None,
        zone: tzinfo = UTC,
        locale: str = "en",
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self._on_outbox = on_outbox
        self.zone = zone
        self.locale = locale
        self._inboxes = Inboxes()
        self._before_commit: list[Hook] = []

    def on_outbox(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a commit that queued outgoing messages (wakes the sender)."""
        self._on_outbox = callback

    def before_commit(self, hook: Hook) -> None:
        """Run ``hook`` at the end of every verb's transaction, after the verb and before the
        commit: what it writes (e.g. rule runs for the events) commits with the change."""
        self._before_commit.append(hook)

    @asynccontextmanager
    async def together(self, depth: int, savepoints: bool = True) -> AsyncIterator[Unit]:
        """One transaction for several units of work done for the rules, each in a savepoint
        (a failing one is undone alone, and raises to the caller); their events are
        ``depth`` deep and go out after the commit. Without ``savepoints`` (much cheaper)
        a failing unit raises ``Undone``, which only undoing the whole transaction answers."""
        with bound():
            async with self.db.transaction() as session:
                unit = Unit(self, session, self.clock(), depth, savepoints)
                yield unit
                await unit.settle()
            await self._published(unit.works)

    async def facts(self, ticket_id: int) -> dict[str, Any] | None:
        """What events tell of the ticket as it is now (None: no such ticket)."""
        async with self.db.reading() as session:
            return await facts_of(session, self._inboxes, ticket_id)

    async def receive(self, message: Inbound) -> Received:
        """A customer's message: stored once, on their live ticket or a new one."""
        return await self._run(inbound.receive, message)

    async def edit(self, change: Edit) -> Message:
        """A customer edited a message they sent; the earlier text is kept in its history."""
        return await self._run(edits.edit, change)

    async def press(self, pressed: Press) -> Received:
        """A customer's button press; raises ButtonRefused for a forged or foreign one."""
        return await self._run(presses.press, pressed)

    async def press_link(self, button_id: str, allow_change: bool) -> Received:
        """A press by link (email): the button's id alone is the authority
        (see ``presses.press_link``); NotFound for an unknown one."""
        return await self._run(presses.press_link, button_id, allow_change)

    async def press_link_page(self, button_id: str) -> presses.Linked:
        """What a press link's page shows; NotFound for an unknown button."""
        async with self.db.reading() as session:
            return await presses.linked(session, button_id)

    async def reply(
        self,
        number: int,
        agent: Agent | None,
        text: str,
        buttons: Sequence[Button] = (),
        origin: str | None = None,
    ) -> Message:
        """Answer the customer; ``origin`` names where it was written (in the event's data)."""
        return await self._run(tickets.reply, number, agent, text, buttons, origin)

    async def note(
        self, number: int, agent: Agent | None, text: str, origin: str | None = None
    ) -> Message:
        return await self._run(tickets.note, number, agent, text, origin)

    async def assign(self, number: int, agent: Agent, assignee_id: int | None) -> Ticket:
        return await self._run(tickets.assign, number, agent, assignee_id)

    async def take(self, number: int, agent: Agent) -> Message:
        """Take the ticket into work and tell the customer (``tickets.take``)."""
        return await self._run(tickets.take, number, agent)

    async def set_status(self, number: int, agent: Agent, status: TicketStatus) -> Ticket:
        return await self._run(tickets.set_status, number, agent, status)

    async def request_rating(
        self,
        number: int,
        scale: ratings.Scale,
        expires_in: timedelta,
        text: str,
        origin: str,
        labels: Sequence[str] | None = None,
    ) -> RatingRequest:
        """Ask the customer to rate the ticket (an agent re-sending the request)."""
        return await self._run(ratings.request, number, scale, expires_in, text, labels, origin)

    async def rating_page(self, token: str) -> ratings.Page:
        """What the public rating page shows; NotFound for an unknown token."""
        async with self.db.reading() as session:
            return await ratings.page(session, token, self.clock())

    async def rate(self, token: str, value: int, allow_change: bool) -> Rating:
        """The customer's answer on the public page (see ``ratings.answer_on_page``)."""
        return await self._run(ratings.answer_on_page, token, value, allow_change)

    async def comment_rating(self, token: str, text: str) -> Rating:
        return await self._run(ratings.comment_on_page, token, text)

    async def request_survey(
        self,
        number: int,
        survey: Survey,
        expires_in: timedelta,
        text: str,
        base_url: str,
        origin: str,
    ) -> SurveyRequest:
        """Send the ticket's customer a link to ``survey``'s form (``surveys.request``)."""
        return await self._run(surveys.request, number, survey, expires_in, text, base_url, origin)

    async def survey_page(self, token: str) -> surveys.Page:
        """What the public survey form shows; NotFound for an unknown token."""
        async with self.db.reading() as session:
            return await surveys.page(session, token, self.clock())

    async def submit_survey(self, token: str, form: dict[str, str]) -> SurveyRequest:
        """The customer's answers from the public form (see ``surveys.submit``)."""
        return await self._run(surveys.submit, token, form)

    async def unreachable(self, inbox: str, external_id: str, reason: str) -> bool:
        """The platform says this customer cannot be messaged (unsubscribed, blocked): their
        queued and later messages fail at once with ``reason``, until they write again.
        Returns whether the customer was known."""
        return await self._run(reach.unreachable, inbox, external_id, reason)

    async def bounced(self, inbox: str, platform_message_id: str, reason: str) -> int | None:
        """Mail ``inbox`` sent came back undelivered (see ``bounces.bounced``): the ticket's
        number, or None when the id is no message of ours."""
        return await self._run(bounces.bounced, inbox, platform_message_id, reason)

    async def sync_inboxes(self, inboxes: Iterable[tuple[str, str]]) -> None:
        """Make sure every configured (name, channel) inbox has its row."""
        async with self.db.transaction() as s:
            for name, channel in inboxes:
                row = await s.scalar(select(Inbox).where(Inbox.name == name))
                if row is None:
                    row = Inbox(name=name, channel=channel, created_at=self.clock())
                    s.add(row)
                    await s.flush()
                elif row.channel != channel:
                    log.warning("inbox %s changes channel %s -> %s", name, row.channel, channel)
                    row.channel = channel
                self._inboxes.remember(row)

    async def _run(self, verb: Callable[..., Awaitable[T]], *args: Any) -> T:
        for attempt in range(1, _RETRIES + 1):
            with bound():
                try:
                    async with self.db.transaction() as session:
                        work = Work(
                            session,
                            self.clock(),
                            self._inboxes,
                            retry=attempt > 1,
                            zone=self.zone,
                            locale=self.locale,
                        )
                        result = await verb(work, *args)
                        for hook in self._before_commit:
                            await hook(work)
                except IntegrityError:
                    # A concurrent transaction inserted the same customer or message first;
                    # run again and find it (the verbs look before they insert).
                    if attempt == _RETRIES:
                        raise
                    log.info("concurrent write on %s, retrying", verb.__name__)
                    continue
                except DBAPIError as exc:
                    if attempt == _RETRIES or not transient(exc):
                        raise
                    log.info("%s on %s, retrying", type(exc.orig).__name__, verb.__name__)
                    await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
                    continue
                await self._published([work])
                return result
        raise AssertionError("unreachable")

    async def _published(self, works: Sequence[Work]) -> None:
        """After a commit: wake who waits for what the works wrote, then tell the bus."""
        for work in works:
            if work.outbox_queued and self._on_outbox:
                self._on_outbox()
            for callback in work.after_commit:
                callback()
        for work in works:
            await self.bus.publish(work.events)


class Undone(BaseException):
    """A unit of work failed in a transaction without savepoints: what it half did is still
    in the transaction, so the transaction must be undone whole. Not an ``Exception``: no
    handler of a unit's own errors (which goes on with the next unit) may catch it."""


class Unit:
    """Units of work sharing one transaction (see ``Desk.together``)."""

    def __init__(
        self, desk: Desk, session: AsyncSession, now: datetime, depth: int, savepoints: bool
    ) -> None:
        self.session = session
        self.now = now
        self.works: list[Work] = []
        self._locked: dict[int, Ticket] = {}
        self._desk = desk
        self._depth = depth
        self._savepoints = savepoints
        self._batch = Batch(now)
        self._unhooked: list[Work] = []  # works of batched verbs whose hooks wait for settle

    async def do(self, verb: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``verb(work, *args)`` in a savepoint; on error it is undone and re-raised.
        Without savepoints, an error raises ``Undone``, and a ``batched`` verb leaves its
        inserts to the unit's batch: what it wrote waits, with the hooks of its work, until
        a verb that is not batched runs or the unit ends (``settle``)."""
        desk = self._desk
        batching = not self._savepoints and getattr(verb, "batched", False)
        if not batching:
            await self.settle()
        work = Work(
            self.session,
            self.now,
            desk._inboxes,
            depth=self._depth,
            zone=desk.zone,
            locale=desk.locale,
            locked={} if self._savepoints else self._locked,
            batch=self._batch if batching else None,
        )
        if self._savepoints:
            async with self.session.begin_nested():
                result = await self._done(work, verb, *args)
        else:
            try:
                if batching:
                    result = await verb(work, *args)
                    self._unhooked.append(work)
                else:
                    result = await self._done(work, verb, *args)
            except Exception as exc:
                raise Undone(f"{verb.__name__} failed: {exc}") from exc
        self.works.append(work)
        return result

    async def settle(self) -> None:
        """Write what the batched verbs left waiting, then run their works' hooks."""
        if not self._unhooked:
            return
        try:
            await self._batch.write(self.session)
            unhooked, self._unhooked = self._unhooked, []
            for work in unhooked:
                for hook in self._desk._before_commit:
                    await hook(work)
        except Exception as exc:
            raise Undone(f"writing the batched work failed: {exc}") from exc

    async def _done(self, work: Work, verb: Callable[..., Awaitable[T]], *args: Any) -> T:
        result = await verb(work, *args)
        for hook in self._desk._before_commit:
            await hook(work)
        return result

    async def lock(self, ticket_ids: Collection[int]) -> None:
        """Lock these tickets for the rest of the transaction and read them (with customer,
        inbox, assignee) in one query: ``facts`` then finds them in the session, and no
        other transaction changes them behind the copies the session holds. Locked in the
        order of their ids, as every locker of several tickets must. Without savepoints the
        verbs take them as they are (with savepoints they lock them again: a savepoint
        rolled back leaves the session's copies expired)."""
        if ticket_ids:
            found = await self.session.scalars(
                select(Ticket)
                .where(Ticket.id.in_(ticket_ids))
                .order_by(Ticket.id)
                .with_for_update(of=Ticket)
            )
            # a dict holds them: the session holds its objects weakly
            self._locked.update((ticket.number, ticket) for ticket in found)

    async def facts(self, ticket_id: int) -> dict[str, Any] | None:
        """The ticket as this transaction sees it, as events tell it (None: no such ticket)."""
        return await facts_of(self.session, self._desk._inboxes, ticket_id)
