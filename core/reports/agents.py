"""Figures per credited agent: counted first, named after (the join is then per agent, not per
row), by name, with the rows that credit nobody last."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, select

from core.db import Database
from core.models import Agent


async def per_agent(
    db: Database,
    agent_id: ColumnElement[Any],
    columns: Iterable[ColumnElement[Any]],
    where: Iterable[ColumnElement[bool]],
) -> Sequence[Row[Any]]:
    """One row per value of ``agent_id`` with ``columns`` over the rows ``where`` selects, and
    the agent's ``name`` (None for nobody); the agent's id is ``agent_id``."""
    counted = (
        select(agent_id.label("agent_id"), *columns).where(*where).group_by(agent_id).subquery()
    )
    query = (
        select(counted, Agent.name)
        .outerjoin(Agent, Agent.id == counted.c.agent_id)
        .order_by(Agent.name.is_(None), Agent.name, counted.c.agent_id)
    )
    async with db.reading() as s:
        return (await s.execute(query)).all()
