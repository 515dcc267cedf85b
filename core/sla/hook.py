"""The Desk hook that keeps deadlines with the ticket: before each unit of work commits, its
events move the ticket's ``sla_targets`` rows in the same transaction.

    ticket.created                 the two deadlines are written (when levels are configured)
    message.sent by an agent       the reaction is met (a rule's reply has no agent: never)
    ticket.status_changed          → waiting: the resolution clock stops; waiting →: it goes
                                   on, the deadline moved; → closed: met; closed →: reopened

Taking a ticket into work (assigning it to oneself, setting it open) sends the customer
nothing in Otklik, so it does not meet the reaction by itself: the customer learns that
someone is on it from the agent's first reply.
"""

from __future__ import annotations

from core import events
from core.models import TicketStatus
from core.sla import deadlines
from core.sla.policy import SlaPolicy
from core.work import Work


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
