"""Tasks rules create for agents ("call the customer back"): who sees which, and completing them.

An agent sees their own tasks; supervisors and admins also see the team's (no owner) and may
look at anyone's. A task is completed once, by its owner, a supervisor or an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy.orm import aliased

from core.db import Database
from core.errors import Forbidden, InvalidTransition, NotFound
from core.models import Agent, Role, Task, Ticket

Owner = int | Literal["team", "all"] | None  # an agent's id; None: one's own (and the team's)
LEADS = (Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class TaskView:
    """A task with what a list shows beside it: its ticket's number and the people's names."""

    task: Task
    ticket_number: int | None
    owner: str | None  # None: the supervisors' team
    done_by: str | None


@dataclass(frozen=True)
class TaskFilter:
    done: bool = False
    owner: Owner = None
    limit: int = 200


def _views() -> Select[tuple[Task, int | None, str | None, str | None]]:
    owner, doer = aliased(Agent), aliased(Agent)
    return (
        select(Task, Ticket.number, owner.name, doer.name)
        .outerjoin(Ticket, Ticket.id == Task.ticket_id)
        .outerjoin(owner, owner.id == Task.owner_id)
        .outerjoin(doer, doer.id == Task.done_by_id)
    )


def _scope(agent: Agent, owner: Owner) -> ColumnElement[bool]:
    lead = agent.role in LEADS
    if owner is None:
        mine = Task.owner_id == agent.id
        return or_(mine, Task.owner_id.is_(None)) if lead else mine
    if owner == agent.id:
        return Task.owner_id == agent.id
    if not lead:
        raise Forbidden("an agent sees only their own tasks; supervisors and admins see others'")
    if owner == "team":
        return Task.owner_id.is_(None)
    if owner == "all":
        return true()
    return Task.owner_id == owner


async def visible(db: Database, agent: Agent, f: TaskFilter) -> Sequence[TaskView]:
    """Open tasks soonest due first, or done ones most recent first, as ``agent`` may see."""
    query = _views().where(_scope(agent, f.owner))
    if f.done:
        query = query.where(Task.done_at.is_not(None)).order_by(Task.done_at.desc())
    else:
        query = query.where(Task.done_at.is_(None)).order_by(Task.due_at.asc().nulls_last())
    async with db.reading() as s:
        rows = await s.execute(query.order_by(Task.id.desc()).limit(f.limit))
        return [TaskView(*row) for row in rows]


async def for_ticket(db: Database, ticket_id: int) -> Sequence[TaskView]:
    """A ticket's tasks: open ones first, then in the order they were made."""
    query = _views().where(Task.ticket_id == ticket_id)
    async with db.reading() as s:
        rows = await s.execute(query.order_by(Task.done_at.is_not(None), Task.id))
        return [TaskView(*row) for row in rows]


def may_complete(agent: Agent, task: Task) -> bool:
    return agent.role in LEADS or task.owner_id == agent.id


async def complete(db: Database, task_id: int, agent: Agent, now: datetime) -> Task:
    """Mark a task done by ``agent``; a task done already is refused, naming when."""
    async with db.transaction() as s:
        task = await s.scalar(select(Task).where(Task.id == task_id).with_for_update())
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        if not may_complete(agent, task):
            raise Forbidden(
                f"task {task_id} is not yours; only its owner, a supervisor or an admin "
                "may complete it"
            )
        if task.done_at is not None:
            raise InvalidTransition(
                f"task {task_id} was completed already, at {task.done_at:%Y-%m-%d %H:%M} UTC"
            )
        task.done_at, task.done_by_id = now, agent.id
    return task
