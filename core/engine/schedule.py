"""Rule runs are written in the transaction of the event that causes them.

For each event of a unit of work, before it commits: its ``cancel_on`` effect on the
ticket's pending delayed runs, then one run row for the immediate rules it matches (they run
in file order and ``stop`` ends them, so they travel together) and one per matching delayed
rule. A crash after the commit loses nothing: the runner finds the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core import delays
from core.engine.live import LiveRules
from core.events import Event
from core.rules import Rule
from core.rules.conditions import Moment
from core.sla.policy import NO_SLA, SlaPolicy
from core.work import Work

log = logging.getLogger("otklik.rules")

NOW = "*"  # the rule id of a run holding an event's immediate rules
MAX_DEPTH = 5


class RuleHook:
    """A Desk ``before_commit`` hook; ``wake`` tells the runner that runs were written;
    ``sla`` has the calendars that ``within_working_hours`` asks."""

    def __init__(self, rules: LiveRules, wake: Callable[[], None], sla: SlaPolicy = NO_SLA) -> None:
        self._rules = rules
        self._wake = wake
        self._sla = sla

    async def __call__(self, work: Work) -> None:
        scheduled = False
        rules = self._rules.current
        for event in work.events:
            if event.ticket_id is not None and rules.cancelled_by(event.name):
                await delays.cancel(work.session, event.ticket_id, event.name, work.now)
            candidates = rules.for_event(event.name)
            if not candidates:
                continue
            if event.depth > MAX_DEPTH:
                log.warning(
                    "%s on ticket %s is %d rule runs deep (limit %d): rules not run; "
                    "do two rules trigger each other?",
                    event.name,
                    event.ticket_id,
                    event.depth,
                    MAX_DEPTH,
                )
                continue
            moment = self._sla.at(event.occurred_at)
            scheduled |= await _schedule(work, event, candidates, moment)
        if scheduled:
            work.after_commit.append(self._wake)


async def _schedule(work: Work, event: Event, candidates: tuple[Rule, ...], moment: Moment) -> bool:
    scheduled = False
    if any(r.delay is None and r.matches(event.data, moment) for r in candidates):
        await delays.schedule(work.session, NOW, event, event.occurred_at, ())
        scheduled = True
    for rule in candidates:
        if rule.delay is not None and rule.matches(event.data, moment):
            due = event.occurred_at + rule.delay
            await delays.schedule(work.session, rule.id, event, due, rule.cancel_on)
            scheduled = True
    return scheduled
