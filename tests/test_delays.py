"""Delayed runs: scheduled once, cancelled by their events, claimed once even by rivals."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import delays, queries
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.events import TICKET_CLOSED, TICKET_REOPENED, Event
from core.messages import Inbound
from core.models import DelayedRun
from tests.engine import next_due

LEASE = timedelta(seconds=30)
ME = "this-runner"


@pytest.fixture
async def ticket_id(desk: Desk) -> int:
    await desk.sync_inboxes([("web", "webchat")])
    await desk.receive(Inbound(inbox="web", external_id="v", text="hello"))
    return (await queries.ticket(desk.db, 1)).id


def closed(ticket_id: int) -> Event:
    return Event(TICKET_CLOSED, utcnow(), ticket_id=ticket_id, data={"ticket": {"number": 1}})


async def schedule(db: Database, event: Event, due_in: timedelta, rule: str = "rate") -> None:
    async with db.transaction() as s:
        await delays.schedule(s, rule, event, event.occurred_at + due_in, [TICKET_REOPENED])


async def test_scheduling_the_same_rule_and_event_twice_is_one_run(db: Database, ticket_id: int):
    event = closed(ticket_id)
    await schedule(db, event, timedelta(hours=2))
    await schedule(db, event, timedelta(hours=2))
    async with db.reading() as s:
        assert len((await s.scalars(select(DelayedRun))).all()) == 1


async def test_a_run_is_claimed_when_due_and_only_then(db: Database, ticket_id: int):
    event = closed(ticket_id)
    await schedule(db, event, timedelta(hours=2))
    assert await delays.claim(db, event.occurred_at + timedelta(hours=1), LEASE, ME) == []
    assert await next_due(db) == event.occurred_at + timedelta(hours=2)
    [due] = await delays.claim(db, event.occurred_at + timedelta(hours=2), LEASE, ME)
    assert (due.rule_id, due.event_name, due.event_data) == ("rate", TICKET_CLOSED, event.data)
    held = event.occurred_at + timedelta(hours=2) + LEASE / 2
    assert await delays.claim(db, held, LEASE, ME) == []  # its claimer still holds it
    await delays.finish(db, [due.id], delays.DONE, utcnow(), ME)
    assert await next_due(db) is None
    assert await delays.claim(db, held + timedelta(days=1), LEASE, ME) == []  # done: never again


async def test_a_claim_whose_claimer_died_is_taken_over_after_the_lease(
    db: Database, ticket_id: int
):
    event = closed(ticket_id)
    await schedule(db, event, timedelta(0))
    now = event.occurred_at + timedelta(seconds=1)
    [first] = await delays.claim(db, now, LEASE, ME)  # ... and this claimer is killed
    assert await delays.claim(db, now + LEASE / 2, LEASE, ME) == []
    [again] = await delays.claim(db, now + LEASE + timedelta(seconds=1), LEASE, "another")
    assert again.id == first.id


async def test_a_runner_whose_run_was_taken_over_can_no_longer_end_renew_or_release_it(
    db: Database, ticket_id: int
):
    """Its lease ran out while it was still firing (a stall): the new holder alone may end
    the run, so the run's actions never commit twice."""
    event = closed(ticket_id)
    await schedule(db, event, timedelta(0))
    now = event.occurred_at + timedelta(seconds=1)
    [late] = await delays.claim(db, now, LEASE, ME)
    [taken] = await delays.claim(db, now + 2 * LEASE, LEASE, "another")
    with pytest.raises(delays.TakenOver):
        await delays.finish(db, [late.id], delays.DONE, now, ME)
    await delays.release(db, [late.id], ME)  # not handed back: it is not ME's
    assert await delays.claim(db, now + 2 * LEASE + timedelta(seconds=1), LEASE, "third") == []
    await delays.renew(db, [late.id], now + 10 * LEASE, ME)  # nor is its lease ME's to extend
    async with db.reading() as s:
        until = await s.scalar(select(DelayedRun.claimed_until).where(DelayedRun.id == late.id))
    assert until == now + 3 * LEASE
    await delays.finish(db, [taken.id], delays.DONE, now, "another")
    async with db.reading() as s:
        assert await s.scalar(select(DelayedRun.state).where(DelayedRun.id == taken.id)) == "done"


async def test_a_cancel_on_event_cancels_only_its_tickets_pending_runs(
    db: Database, ticket_id: int
):
    await schedule(db, closed(ticket_id), timedelta(hours=2))
    async with db.transaction() as s:
        assert await delays.cancel(s, ticket_id, "message.received", utcnow()) == 0
        assert await delays.cancel(s, ticket_id + 1, TICKET_REOPENED, utcnow()) == 0
        assert await delays.cancel(s, ticket_id, TICKET_REOPENED, utcnow()) == 1
    assert await delays.claim(db, utcnow() + timedelta(days=1), LEASE, ME) == []


async def test_a_ticket_s_runs_are_claimed_one_at_a_time_in_order(db: Database, ticket_id: int):
    first, second = closed(ticket_id), closed(ticket_id)
    await schedule(db, second, timedelta(seconds=2))
    await schedule(db, first, timedelta(seconds=1), rule="earlier")
    later = utcnow() + timedelta(minutes=1)
    [due] = await delays.claim(db, later, LEASE, ME)
    assert due.rule_id == "earlier"
    assert await delays.claim(db, later, LEASE, ME) == []  # the next waits for this one
    await delays.finish(db, [due.id], delays.DONE, later, ME)
    [after] = await delays.claim(db, later, LEASE, ME)
    assert after.rule_id == "rate"


async def test_rival_claimers_never_take_the_same_run(db: Database, ticket_id: int):
    start = utcnow()
    for i in range(60):  # runs of no ticket: none waits for another
        event = Event(TICKET_CLOSED, start, data={"i": i})
        await schedule(db, event, timedelta(seconds=i % 5), rule=f"r{i}")
    later = start + timedelta(minutes=1)
    rivals = [Database(db.url) for _ in range(3)]
    claimed: list[int] = []
    try:
        for _ in range(20):  # rounds of six claims at once, until every run is taken
            batches = await asyncio.gather(
                *(
                    delays.claim(rival, later, LEASE, "rival", limit=25)
                    for rival in rivals
                    for _ in range(2)
                )
            )
            claimed += [due.id for batch in batches for due in batch]
            if len(claimed) >= 60:
                break
    finally:
        for rival in rivals:
            await rival.close()
    assert len(claimed) == len(set(claimed)) == 60


async def test_purge_deletes_only_runs_that_ended_long_enough_ago(db: Database, ticket_id: int):
    old, recent, pending = closed(ticket_id), closed(ticket_id), closed(ticket_id)
    for event in (old, recent, pending):
        await schedule(db, event, timedelta(0))
    start = utcnow()
    [first] = await delays.claim(db, start, LEASE, ME)  # one at a time: they share a ticket
    await delays.finish(db, [first.id], delays.DONE, start - timedelta(days=8), ME)
    [second] = await delays.claim(db, start, LEASE, ME)
    await delays.finish(db, [second.id], delays.SKIPPED, start, ME)
    [third] = await delays.claim(db, start, LEASE, ME)
    await delays.release(db, [third.id], ME)
    assert await delays.purge(db, start - timedelta(days=7)) == 1
    async with db.reading() as s:
        left = sorted((await s.scalars(select(DelayedRun.state))).all())
    assert left == [delays.PENDING, delays.SKIPPED]


async def test_a_renewed_lease_keeps_rivals_off_until_it_runs_out(db: Database, ticket_id: int):
    await schedule(db, closed(ticket_id), timedelta(0))
    start = utcnow()
    [due] = await delays.claim(db, start, LEASE, ME)
    await delays.renew(db, [due.id], start + 3 * LEASE, ME)
    assert await delays.claim(db, start + 2 * LEASE, LEASE, ME) == []  # the first lease is over
    [taken] = await delays.claim(db, start + 4 * LEASE, LEASE, ME)  # the renewed one too
    assert taken.id == due.id
