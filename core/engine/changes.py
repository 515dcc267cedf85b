"""What the rules change in a ticket, each a unit of work the Desk runs for them.

The rules act as no agent: audit entries name the actor "rule", and nothing here checks an
agent's rights. The lifecycle still holds: a status the ticket cannot move to is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import outbox
from core.db import insert_for
from core.errors import InvalidInput, InvalidTransition
from core.messages import clean_text
from core.models import (
    Agent,
    Direction,
    Identity,
    Inbox,
    Message,
    Notification,
    Role,
    RuleStat,
    Task,
    Ticket,
    TicketStatus,
)
from core.status import audit, change_status
from core.tickets import ALLOWED, assign_to, checked_text, ticket_for_update
from core.work import Work

RULE = "rule"
EMAIL = "email"


async def assign(work: Work, number: int, logins: Sequence[str], rule_id: str) -> str:
    """Give the ticket to the first of ``logins`` (one: that agent; several: the next in turn
    after this rule's last assignment, skipping inactive agents). Returns who got it."""
    ticket = await ticket_for_update(work, number)
    agents = {
        a.login: a
        for a in await work.session.scalars(
            select(Agent).where(Agent.login.in_(logins), Agent.active.is_(True))
        )
    }
    if not agents:
        raise InvalidInput(f"none of the agents {', '.join(logins)} exists and is active")
    if len(logins) == 1:
        target = agents[logins[0]]
    else:
        # The turn walks the whole list: an inactive agent is passed over and the others
        # keep their order (after ann comes cat while bob is away, not ann again).
        stat = await _stat(work, rule_id)
        turn = [logins[(stat.turns + i) % len(logins)] for i in range(len(logins))]
        skipped = next(i for i, login in enumerate(turn) if login in agents)
        target = agents[turn[skipped]]
        stat.turns += skipped + 1
    if ticket.assignee_id != target.id:
        await assign_to(work, ticket, target, by=None)
    return target.login


async def set_status(work: Work, number: int, status: TicketStatus) -> None:
    ticket = await ticket_for_update(work, number)
    current = TicketStatus(ticket.status)
    if current == status:
        return
    if status not in ALLOWED[current]:
        raise InvalidTransition(f"ticket #{number} is {current}; it cannot become {status}")
    await change_status(work, ticket, status, None, actor=RULE)


async def set_priority(work: Work, number: int, priority: str) -> None:
    ticket = await ticket_for_update(work, number)
    if ticket.priority != priority:
        await audit(work, ticket.id, "priority", ticket.priority, priority, actor=RULE)
        ticket.priority = priority
        ticket.updated_at = work.now


async def add_tags(work: Work, number: int, tags: Sequence[str]) -> None:
    ticket = await ticket_for_update(work, number)
    new = [t for t in dict.fromkeys(tags) if t not in ticket.tags]
    if new:
        ticket.tags = [*ticket.tags, *new]
        ticket.updated_at = work.now
        await audit(work, ticket.id, "tags", None, ", ".join(new)[:100], actor=RULE)


@dataclass(frozen=True)
class Reached:
    """An agent a notification went to, and their Telegram chat when they linked one."""

    agent_id: int
    telegram_id: int | None


async def notify(
    work: Work, ticket_id: int | None, to: str, text: str, rule_id: str
) -> list[Reached]:
    """A notification row for each agent ``to`` names: "assignee", "supervisors" (every
    active supervisor, or the admins when there is none) or "agent:<login>"."""
    agents = await _addressees(work, ticket_id, to)
    for agent in agents:
        work.session.add(
            Notification(
                agent_id=agent.id,
                ticket_id=ticket_id,
                text=text,
                rule_id=rule_id,
                created_at=work.now,
            )
        )
    return [Reached(a.id, a.telegram_id) for a in agents]


async def create_task(
    work: Work,
    ticket_id: int | None,
    owner: str,
    title: str,
    description: str,
    due_at: datetime | None,
    rule_id: str,
) -> Task:
    """A task for "assignee", "supervisor" (the assignee's) or "agent:<login>"; when the
    assignee or supervisor is unset or no longer active, for the supervisors as a team."""
    owner_id: int | None
    if owner.startswith("agent:"):
        owner_id = (await _agent(work, owner.removeprefix("agent:"))).id
    else:
        person = (await _ticket(work, ticket_id)).assignee
        if person is not None and owner == "supervisor":
            boss = person.supervisor_id
            person = await work.session.get(Agent, boss) if boss is not None else None
        # nobody to name, or they are no longer active: the supervisors' shared list
        owner_id = person.id if person is not None and person.active else None
    task = Task(
        ticket_id=ticket_id,
        owner_id=owner_id,
        title=title[:200],
        description=description,
        due_at=due_at,
        rule_id=rule_id,
        created_at=work.now,
    )
    work.session.add(task)
    await work.session.flush()
    return task


async def fired(work: Work, counts: Mapping[str, tuple[int, datetime]]) -> None:
    """Count the runs of rules (rule id: how many, the last when), for the rules page."""
    for rule_id in sorted(counts):  # one order everywhere: no deadlock between processes
        stat = await _stat(work, rule_id)
        count, last = counts[rule_id]
        stat.fired += count
        stat.last_fired_at = max(last, stat.last_fired_at or last)


async def _stat(work: Work, rule_id: str) -> RuleStat:
    """The rule's stats row, locked; made first if need be (by whichever process is first)."""
    await work.session.execute(
        insert_for(work.session)(RuleStat)
        .values(rule_id=rule_id, fired=0, turns=0)
        .on_conflict_do_nothing(index_elements=["rule_id"])
    )
    stat = await work.session.get(RuleStat, rule_id, with_for_update=True, populate_existing=True)
    assert stat is not None
    return stat


async def _addressees(work: Work, ticket_id: int | None, to: str) -> list[Agent]:
    if to.startswith("agent:"):
        return [await _agent(work, to.removeprefix("agent:"))]
    if to == "assignee":
        assignee = (await _ticket(work, ticket_id)).assignee
        return [assignee] if assignee is not None and assignee.active else []
    for role in (Role.SUPERVISOR, Role.ADMIN):
        found = list(
            await work.session.scalars(
                select(Agent).where(Agent.role == role, Agent.active.is_(True)).order_by(Agent.id)
            )
        )
        if found:
            return found
    return []


async def _agent(work: Work, login: str) -> Agent:
    agent = await work.session.scalar(select(Agent).where(Agent.login == login))
    if agent is None or not agent.active:
        raise InvalidInput(f"agent {login!r} does not exist or is not active")
    return agent


async def _ticket(work: Work, ticket_id: int | None) -> Ticket:
    ticket = await work.session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        raise InvalidInput("the event concerns no ticket")
    return ticket


async def email(work: Work, ticket_id: int | None, subject: str, text: str) -> str | None:
    """Queue an email to the ticket's customer through an email inbox (the ticket's own when
    it came by email). Returns why it was skipped, or None when it was queued."""
    ticket = await _ticket(work, ticket_id)
    address = ticket.customer.email
    if not address:
        return "the customer has no email address"
    inbox = ticket.inbox if ticket.inbox.channel == EMAIL else None
    inbox = inbox or await work.session.scalar(
        select(Inbox).where(Inbox.channel == EMAIL).order_by(Inbox.id).limit(1)
    )
    if inbox is None:
        return "no email inbox is configured"
    identity = await work.session.scalar(
        select(Identity).where(Identity.inbox_id == inbox.id, Identity.external_id == address)
    )
    if identity is None:
        identity = Identity(
            customer_id=ticket.customer_id,
            inbox_id=inbox.id,
            external_id=address,
            created_at=work.now,
        )
        work.session.add(identity)
        await work.session.flush()
    message = Message(
        ticket_id=ticket.id,
        inbox_id=inbox.id,
        direction=Direction.OUT,
        text=checked_text(text),
        subject=clean_text(" ".join(subject.split()))[:200],
        created_at=work.now,
        buttons=[],
    )
    work.session.add(message)
    outbox.queue(work, message, ticket, via=identity)
    await work.session.flush()
    return None
