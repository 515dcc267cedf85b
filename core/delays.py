"""Delayed rule runs as rows: written with the event that caused them, claimed when due.

A run moves pending → claimed (with a lease) → done | skipped | failed, or pending →
cancelled when one of its ``cancel_on`` events happens to the ticket first. A claimer that dies
holding a lease loses it when the lease runs out, so a run fires late rather than never; two
claimers never hold the same run (the claim is a conditional UPDATE, which a run another
claimer took first fails; SQLite has one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.db import Database, insert_for
from core.events import Event
from core.models import DelayedRun

PENDING, CLAIMED, DONE, SKIPPED, FAILED, CANCELLED = (
    "pending",
    "claimed",
    "done",
    "skipped",
    "failed",
    "cancelled",
)


@dataclass(frozen=True)
class Due:
    """A claimed run: the rule to fire and the event that scheduled it."""

    id: int
    rule_id: str
    ticket_id: int | None
    event_name: str
    event_data: dict[str, Any]
    due_at: datetime
    depth: int = 0


async def schedule(
    session: AsyncSession, rule_id: str, event: Event, due_at: datetime, cancel_on: Sequence[str]
) -> None:
    """Write the run in the caller's transaction; the same rule and event twice is one run."""
    insert = insert_for(session)
    await session.execute(
        insert(DelayedRun)
        .values(
            key=f"{rule_id}:{event.id}",
            rule_id=rule_id,
            ticket_id=event.ticket_id,
            event_name=event.name,
            event_data=event.data,
            cancel_on=list(cancel_on),
            due_at=due_at,
            depth=event.depth,
            state=PENDING,
            created_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def arm(
    session: AsyncSession,
    key: str,
    handler: str,
    ticket_id: int,
    event_name: str,
    data: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> None:
    """Write a timer: a run that ``handler`` (in place of a rule id) fires at ``due_at``.
    ``key`` names what it is for: a timer of that key that was cancelled or skipped is armed
    again, one pending is moved to ``due_at``, one that fired stays as it is — a key fires
    once."""
    insert = insert_for(session)
    await session.execute(
        insert(DelayedRun)
        .values(
            key=key,
            rule_id=handler,
            ticket_id=ticket_id,
            event_name=event_name,
            event_data=data,
            cancel_on=[],
            due_at=due_at,
            depth=0,
            state=PENDING,
            created_at=now,
        )
        .on_conflict_do_update(
            index_elements=["key"],
            set_={"state": PENDING, "due_at": due_at, "finished_at": None},
            where=DelayedRun.state.in_((PENDING, CANCELLED, SKIPPED)),
        )
    )


async def disarm(
    session: AsyncSession, ticket_id: int, handler: str, event_names: Sequence[str], now: datetime
) -> None:
    """Cancel the ticket's pending timers of ``handler`` for ``event_names``."""
    await session.execute(
        update(DelayedRun)
        .where(
            DelayedRun.ticket_id == ticket_id,
            DelayedRun.state == PENDING,
            DelayedRun.rule_id == handler,
            DelayedRun.event_name.in_(event_names),
        )
        .values(state=CANCELLED, finished_at=now)
    )


async def cancel(session: AsyncSession, ticket_id: int, event_name: str, now: datetime) -> int:
    """Cancel the ticket's pending runs that ``event_name`` cancels; how many were."""
    pending = await session.execute(
        select(DelayedRun.id, DelayedRun.cancel_on).where(
            DelayedRun.ticket_id == ticket_id, DelayedRun.state == PENDING
        )
    )
    ids = [run_id for run_id, cancel_on in pending if event_name in cancel_on]
    if ids:
        await session.execute(
            update(DelayedRun)
            .where(DelayedRun.id.in_(ids), DelayedRun.state == PENDING)
            .values(state=CANCELLED, finished_at=now)
        )
    return len(ids)


async def claim(
    db: Database, now: datetime, lease: timedelta, by: str, limit: int = 100
) -> list[Due]:
    """Take up to ``limit`` runs that are due (or whose claimer's lease ran out) for the
    runner named ``by``: only it can end, renew or release them (see ``mark``).

    A ticket's runs fire in order, whichever process takes them: only the earliest unfinished
    run of a ticket is taken, and none of a ticket whose earlier run someone holds. The
    earliest due runs are read first (an index scan), one per ticket is chosen, and the
    choice is claimed with a conditional UPDATE: a run a rival claimed meanwhile fails its
    condition and is left to the rival — and the ticket's later runs, never chosen, wait.
    """
    async with db.transaction() as session:
        due = (
            select(DelayedRun.id, DelayedRun.ticket_id, DelayedRun.due_at)
            .where(DelayedRun.state == PENDING, DelayedRun.due_at <= now)
            .order_by(DelayedRun.due_at, DelayedRun.id)
            .limit(limit * 4)
        )
        expired = (
            select(DelayedRun.id, DelayedRun.ticket_id, DelayedRun.due_at)
            .where(DelayedRun.state == CLAIMED, DelayedRun.claimed_until < now)
            .limit(limit)
        )
        candidates = sorted(
            [*(await session.execute(expired)), *(await session.execute(due))],
            key=lambda row: (row.due_at, row.id),
        )
        tickets = {row.ticket_id for row in candidates if row.ticket_id is not None}
        held = (
            set(
                await session.scalars(
                    select(DelayedRun.ticket_id).where(
                        DelayedRun.ticket_id.in_(tickets),
                        DelayedRun.state == CLAIMED,
                        DelayedRun.claimed_until >= now,
                    )
                )
            )
            if tickets
            else set()
        )
        chosen: list[int] = []
        for row in candidates:
            if row.ticket_id is not None:
                if row.ticket_id in held:
                    continue
                held.add(row.ticket_id)  # later runs of the ticket wait for this one
            chosen.append(row.id)
            if len(chosen) == limit:
                break
        if not chosen:
            return []
        claimed = await session.execute(
            update(DelayedRun)
            .execution_options(synchronize_session=False)
            .where(
                DelayedRun.id.in_(chosen),
                or_(
                    DelayedRun.state == PENDING,
                    (DelayedRun.state == CLAIMED) & (DelayedRun.claimed_until < now),
                ),
            )
            .values(state=CLAIMED, claimed_until=now + lease, claimed_by=by)
            .returning(
                DelayedRun.id,
                DelayedRun.rule_id,
                DelayedRun.ticket_id,
                DelayedRun.event_name,
                DelayedRun.event_data,
                DelayedRun.due_at,
                DelayedRun.depth,
            )
        )
        return sorted((Due(*row) for row in claimed), key=lambda d: (d.due_at, d.id))


class TakenOver(Exception):
    """A run is no longer this runner's: its lease ran out and another runner took it."""


async def finish(db: Database, run_ids: Sequence[int], state: str, now: datetime, by: str) -> None:
    async with db.transaction() as session:
        await mark(session, run_ids, state, now, by)


async def mark(
    session: AsyncSession, run_ids: Sequence[int], state: str, now: datetime, by: str
) -> None:
    """End runs ``by`` holds, in the caller's transaction (with the actions they did); raises
    TakenOver, so that the transaction is undone, when another runner holds one of them now."""
    ended = await session.execute(
        update(DelayedRun)
        .execution_options(synchronize_session=False)
        .where(DelayedRun.id.in_(run_ids), _held_by(by))
        .values(state=state, finished_at=now, claimed_until=None)
    )
    if ended.rowcount != len(run_ids):  # type: ignore[attr-defined]
        raise TakenOver(f"rule runs {list(run_ids)}: one was taken over by another runner")


async def renew(db: Database, run_ids: Sequence[int], until: datetime, by: str) -> None:
    """Extend the lease on runs ``by`` still works on, so no one takes them over."""
    async with db.transaction() as session:
        await session.execute(
            update(DelayedRun)
            .execution_options(synchronize_session=False)
            .where(DelayedRun.id.in_(run_ids), _held_by(by))
            .values(claimed_until=until)
        )


async def release(db: Database, run_ids: Sequence[int], by: str) -> None:
    """Hand runs ``by`` claimed and did not start back, for any runner to take now."""
    async with db.transaction() as session:
        await session.execute(
            update(DelayedRun)
            .execution_options(synchronize_session=False)
            .where(DelayedRun.id.in_(run_ids), _held_by(by))
            .values(state=PENDING, claimed_until=None, claimed_by=None)
        )


def _held_by(by: str) -> ColumnElement[bool]:
    return (DelayedRun.state == CLAIMED) & (DelayedRun.claimed_by == by)


async def purge(db: Database, before: datetime) -> int:
    """Delete runs that ended (done, skipped, failed, cancelled) before ``before``."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(DelayedRun).where(
                DelayedRun.state.in_((DONE, SKIPPED, FAILED, CANCELLED)),
                DelayedRun.finished_at < before,
            )
        )
        return result.rowcount or 0
