"""What agents see of a ticket's SLA deadlines (the rows of ``sla_targets``), and the nearest
open deadline of each ticket, for sorting a ticket list by it.

Time left is working time by the row's calendar: from now to the deadline, negative once it
has passed. A paused deadline (the ticket is waiting) shows the time left when the pause
began, frozen; a met one the working time between meeting it and the deadline (negative:
met late). A row naming a calendar no longer configured is measured in real time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Subquery, func, select

from core.db import Database
from core.i18n import text
from core.models import SlaTarget, Ticket
from core.queries import TicketFilter, filtered_tickets
from core.sla.calendar import Calendar

TARGETS = ("reaction", "resolution")


@dataclass(frozen=True)
class Deadline:
    target: str  # reaction | resolution
    due_at: datetime
    left: timedelta  # working time to the deadline from now, the pause's start or meeting it
    met_at: datetime | None
    breached: bool  # met late, or passed unmet
    paused: bool
    overdue: bool  # open (or paused) and its time is up

    @property
    def met(self) -> bool:
        return self.met_at is not None


@dataclass(frozen=True)
class TicketSla:
    """A ticket's level and its deadlines, reaction first."""

    level: str
    deadlines: tuple[Deadline, ...]

    @property
    def nearest(self) -> Deadline | None:
        """The earliest deadline not met yet (paused ones included), as the list sorts."""
        open_ = [d for d in self.deadlines if not d.met]
        return min(open_, key=lambda d: d.due_at) if open_ else None

    @property
    def late(self) -> bool:
        return any(d.breached for d in self.deadlines)


def deadline(row: SlaTarget, calendar: Calendar | None, now: datetime) -> Deadline:
    """One row as shown at ``now``."""
    paused = row.met_at is None and row.paused_since is not None
    at = row.met_at or row.paused_since or now
    left = row.due_at - at if calendar is None else calendar.working_time_between(at, row.due_at)
    overdue = row.met_at is None and (row.breached or at >= row.due_at)
    return Deadline(row.target, row.due_at, left, row.met_at, row.breached, paused, overdue)


def in_order(rows: Sequence[SlaTarget]) -> list[SlaTarget]:
    """A ticket's rows, reaction first."""
    return sorted(rows, key=lambda r: TARGETS.index(r.target) if r.target in TARGETS else 2)


def shown(
    rows: Sequence[SlaTarget], calendars: Mapping[str, Calendar], now: datetime
) -> TicketSla | None:
    """A ticket's rows as agents see them; None when the ticket has no SLA."""
    if not rows:
        return None
    ordered = in_order(rows)
    return TicketSla(
        ordered[0].level,
        tuple(deadline(r, calendars.get(r.calendar), now) for r in ordered),
    )


async def of_tickets(
    db: Database, ticket_ids: Collection[int], calendars: Mapping[str, Calendar], now: datetime
) -> dict[int, TicketSla]:
    """The SLA of each of the tickets that has one (a list page's worth), by ticket id."""
    if not ticket_ids:
        return {}
    async with db.reading() as s:
        rows = (
            await s.scalars(select(SlaTarget).where(SlaTarget.ticket_id.in_(set(ticket_ids))))
        ).all()
    by_ticket: dict[int, list[SlaTarget]] = {}
    for row in rows:
        by_ticket.setdefault(row.ticket_id, []).append(row)
    return {
        ticket_id: found
        for ticket_id, mine in by_ticket.items()
        if (found := shown(mine, calendars, now)) is not None
    }


async def of_ticket(
    db: Database, ticket_id: int, calendars: Mapping[str, Calendar], now: datetime
) -> TicketSla | None:
    return (await of_tickets(db, [ticket_id], calendars, now)).get(ticket_id)


def nearest_open() -> Subquery:
    """Per ticket, its nearest deadline not met yet: ``ticket_id, due_at`` (MIN over the open
    rows, which ``ix_sla_targets_open`` holds)."""
    return (
        select(SlaTarget.ticket_id, func.min(SlaTarget.due_at).label("due_at"))
        .where(SlaTarget.met_at.is_(None))
        .group_by(SlaTarget.ticket_id)
        .subquery("nearest_open")
    )


def by_nearest_deadline(query: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
    """``query``'s tickets, the nearest open deadline first; tickets without one (no SLA, or
    every deadline met) last, most recently active first."""
    nearest = nearest_open()
    return query.outerjoin(nearest, nearest.c.ticket_id == Ticket.id).order_by(
        nearest.c.due_at.is_(None),
        nearest.c.due_at,
        Ticket.last_activity_at.desc(),
        Ticket.id.desc(),
    )


async def tickets_by_deadline(db: Database, f: TicketFilter) -> tuple[Sequence[Ticket], int]:
    """Like ``core.queries.tickets`` (one page and the total), sorted by nearest deadline."""
    query = filtered_tickets(f)
    async with db.reading() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = await s.scalars(by_nearest_deadline(query).limit(f.limit).offset(f.offset))
        return page.unique().all(), total


def duration_text(locale: str, span: timedelta) -> str:
    """``2h 05m``, ``45m``: a span's size in hours and whole minutes (its sign left out)."""
    minutes = int(abs(span).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return text(locale, "sla.hours_minutes", hours=hours, minutes=f"{minutes:02d}")
    return text(locale, "sla.minutes", minutes=minutes)
