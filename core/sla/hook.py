"""The Desk hook that keeps deadlines with the ticket: before each unit of work commits, its
events move the ticket's ``sla_targets`` rows in the same transaction.

    ticket.created                 the two deadlines are written (when levels are configured)
    message.sent by an agent       the reaction is met (a rule's reply has no agent: never)
    ticket.status_changed          → waiting: the resolution clock stops; waiting →: it goes
                                   on, the deadline moved; → closed: met; closed →: reopened
    a ticket's tags or priority    its level is chosen again while no deadline is met
    changed (no event: noted by    (``deadlines.relevel``)
    the listener below)

Assigning a ticket to oneself or setting it open tells the customer nothing, so neither meets
the reaction; taking it into work with the customer told (``tickets.take``) does, its notice
being the agent's reply.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.orm import object_session

from core import events
from core.models import Ticket, TicketStatus
from core.sla import deadlines
from core.sla.policy import SlaPolicy
from core.work import Work

# session.info key: ids of the tickets whose tags or priority changed in the session since the
# hook last ran (the rules' tag and set_priority, or any verb that sets them).
_RELEVEL = "sla.relevel"


@orm_event.listens_for(Ticket.priority, "set")
@orm_event.listens_for(Ticket.tags, "set")
def _facts_changed(ticket: Ticket, value: Any, old: Any, _initiator: Any) -> None:
    """Note a stored ticket whose priority or tags are set to something else. A new ticket's
    are set before it has a session or an id, and are its registration's facts."""
    session = object_session(ticket)
    if session is not None and ticket.id is not None and value != old:
        session.info.setdefault(_RELEVEL, set()).add(ticket.id)


class SlaHook:
    """A Desk ``before_commit`` hook (``Desk.before_commit(SlaHook(policy))``)."""

    def __init__(self, policy: SlaPolicy) -> None:
        self._policy = policy

    async def __call__(self, work: Work) -> None:
        policy = self._policy
        for event in work.events:
            ticket_id = event.ticket_id
            if ticket_id is None:
                continue
            if event.name == events.TICKET_CREATED:
                await deadlines.register(work, policy, event)
            elif event.name == events.MESSAGE_SENT and (agent := event.data.get("agent")):
                await deadlines.replied(work, policy, ticket_id, agent["id"])
            elif event.name == events.TICKET_STATUS_CHANGED:
                old, new = event.data["status"]["old"], event.data["status"]["new"]
                number = event.data["ticket"]["number"]
                if new == TicketStatus.WAITING:
                    await deadlines.paused(work, ticket_id)
                elif new == TicketStatus.CLOSED:
                    assignee = event.data["ticket"]["assignee_id"]
                    await deadlines.closed(work, policy, ticket_id, assignee)
                elif old == TicketStatus.WAITING:
                    await deadlines.resumed(work, policy, ticket_id, number)
                elif old == TicketStatus.CLOSED:
                    await deadlines.reopened(work, policy, ticket_id, number)
        for ticket_id in sorted(work.session.info.pop(_RELEVEL, ())):
            await deadlines.relevel(work, policy, ticket_id)
