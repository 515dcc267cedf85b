"""A ticket's SLA deadlines as rows of ``sla_targets``: written when it is registered, then
met, paused, moved and reopened as the ticket goes, each in the transaction of the change.

- Registration: the level its facts select gives a reaction and a resolution deadline, by
  the level's calendar from the registration.
- A change of the ticket's tags or priority while neither deadline is met chooses its level
  again, from its facts then; another level re-derives both deadlines from the registration
  (see ``relevel``). Once a deadline is met, the level stays; nothing else recomputes them.
- Reaction: met by the first public reply an agent writes (a rule's or bot's never counts);
  a close settles an unmet one too (see ``closed``). Reopening does not ask it again.
- Resolution: met at the close. While the ticket waits, its clock stops (``paused_since``);
  when the waiting ends, the working time it took is added to ``paused_seconds`` and to
  ``due_at``. A reopen clears ``met_at`` and counts the time the ticket spent closed as a
  pause, so the deadline moves later by it; a breach recorded stays recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import tickets
from core.events import Event
from core.i18n import text
from core.models import SlaTarget
from core.sla import timers
from core.sla.clocks import moved, pause_seconds, worked_seconds
from core.sla.policy import SlaPolicy
from core.sla.timers import REACTION, RESOLUTION
from core.work import Work, facts_of


async def register(work: Work, policy: SlaPolicy, created: Event) -> None:
    """Write a new ticket's two deadlines (``created``: its ticket.created event)."""
    if not policy.enabled or created.ticket_id is None:
        return
    facts = created.data
    started = created.occurred_at
    level = policy.levels.for_ticket(facts, policy.at(started))
    calendar = policy.calendar(level.calendar)
    inbox = await work.inboxes.named(work.session, facts["inbox"]["name"])
    rows = [
        SlaTarget(
            ticket_id=created.ticket_id,
            inbox_id=inbox.id,
            level=level.name,
            calendar=level.calendar,
            target=target,
            started_at=started,
            due_at=calendar.add_working_time(started, span),
            paused_seconds=0,
            breached=False,
        )
        for target, span in ((REACTION, level.reaction), (RESOLUTION, level.resolution))
    ]
    work.session.add_all(rows)
    await work.session.flush()
    for row in rows:
        await timers.arm(work, policy, row, facts["ticket"]["number"])


async def replied(work: Work, policy: SlaPolicy, ticket_id: int, agent_id: int) -> None:
    """An agent's public reply: the reaction is met, credited to them."""
    row = await _row(work, ticket_id, REACTION)
    if row is not None and row.met_at is None:
        await _meet(work, policy, row, agent_id)


async def paused(work: Work, ticket_id: int) -> None:
    """The ticket waits: the resolution clock stops."""
    row = await _row(work, ticket_id, RESOLUTION)
    if row is not None and row.met_at is None and row.paused_since is None:
        row.paused_since = work.now
        await timers.disarm(work, row)


async def resumed(work: Work, policy: SlaPolicy, ticket_id: int, number: int) -> None:
    """The waiting ended: the resolution deadline moves later by the working time it took."""
    row = await _row(work, ticket_id, RESOLUTION)
    if row is not None and row.met_at is None and row.paused_since is not None:
        _extend(policy, row, row.paused_since, work.now)
        row.paused_since = None
        await timers.arm(work, policy, row, number)


async def closed(work: Work, policy: SlaPolicy, ticket_id: int, assignee_id: int | None) -> None:
    """The close meets the resolution and, when no agent replied, ends the reaction wait
    too (both credited to the assignee): no deadline of a closed ticket stays open."""
    for target in (REACTION, RESOLUTION):
        row = await _row(work, ticket_id, target)
        if row is None or row.met_at is not None:
            continue
        if row.paused_since is not None:
            _extend(policy, row, row.paused_since, work.now)
            row.paused_since = None
        await _meet(work, policy, row, assignee_id)


async def reopened(work: Work, policy: SlaPolicy, ticket_id: int, number: int) -> None:
    """A reopen: the resolution is open again, moved later by the time spent closed."""
    row = await _row(work, ticket_id, RESOLUTION)
    if row is None or row.met_at is None:
        return
    _extend(policy, row, row.met_at, work.now)
    row.met_at = None
    row.worked_seconds = None
    if not row.breached:
        row.agent_id = None
    await timers.arm(work, policy, row, number)


async def relevel(work: Work, policy: SlaPolicy, ticket_id: int) -> None:
    """The ticket's tags or priority changed: while neither deadline is met, its level is
    chosen again from its facts now, by the levels configured. Another level re-derives both
    deadlines from the registration (``started_at`` kept) with its durations and calendar,
    each pushed later by the paused time it has (``paused_seconds`` kept; a pause running
    goes on under the new calendar); their timers are re-armed and an internal note tells
    the change. A breach already recorded stays recorded."""
    if not policy.enabled:
        return
    rows = list(
        await work.session.scalars(
            select(SlaTarget)
            .where(SlaTarget.ticket_id == ticket_id)
            .order_by(SlaTarget.id)
            .with_for_update()
        )
    )
    if not rows or any(row.met_at is not None for row in rows):
        return
    facts = await facts_of(work.session, work.inboxes, ticket_id)
    assert facts is not None  # the ticket whose facts changed, locked by the change
    level = policy.levels.for_ticket(facts, policy.at(work.now))
    before = rows[0].level
    if all(row.level == level.name for row in rows):
        return
    calendar = policy.calendar(level.calendar)
    spans = {REACTION: level.reaction, RESOLUTION: level.resolution}
    number = facts["ticket"]["number"]
    for row in rows:
        await timers.disarm(work, row)
        row.level, row.calendar = level.name, level.calendar
        first = calendar.add_working_time(row.started_at, spans[row.target])
        row.due_at = moved(calendar, first, row.paused_seconds)
        await timers.arm(work, policy, row, number)
    due = {row.target: row.due_at.astimezone(work.zone).strftime("%Y-%m-%d %H:%M") for row in rows}
    note = text(
        work.locale,
        "sla.relevelled",
        old=before,
        new=level.name,
        reaction=due[REACTION],
        resolution=due[RESOLUTION],
        zone=str(work.zone),
    )
    await tickets.note(work, number, None, note)


async def _row(work: Work, ticket_id: int, target: str) -> SlaTarget | None:
    return await work.session.scalar(
        select(SlaTarget)
        .where(SlaTarget.ticket_id == ticket_id, SlaTarget.target == target)
        .with_for_update()
    )


def _extend(policy: SlaPolicy, row: SlaTarget, since: datetime, until: datetime) -> None:
    calendar = policy.calendar(row.calendar)
    seconds = pause_seconds(calendar, since, until)
    row.paused_seconds += seconds
    row.due_at = moved(calendar, row.due_at, seconds)


async def _meet(work: Work, policy: SlaPolicy, row: SlaTarget, agent_id: int | None) -> None:
    calendar = policy.calendar(row.calendar)
    row.met_at = work.now
    row.breached = row.breached or work.now > row.due_at
    row.worked_seconds = worked_seconds(calendar, row.started_at, work.now, row.paused_seconds)
    row.agent_id = agent_id
    await timers.disarm(work, row)
