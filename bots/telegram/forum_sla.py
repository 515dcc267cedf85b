"""A ticket's SLA deadlines as a line in its forum topic, posted as the topic opens.

The deadlines are written with the ticket, in the transaction that registers it, so they are
there when the forum mirrors ``ticket.created``. Times are in UTC, said so: the forum knows
no time zone of the service's.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from core.db import Database
from core.i18n import text
from core.models import SlaTarget
from core.sla.status import in_order


async def line(db: Database, locale: str, ticket_id: int) -> str | None:
    """``⏱ SLA «VIP»: Reaction by 2026-03-10 09:30 UTC; Resolution by …``; None without SLA."""
    async with db.reading() as s:
        rows = (await s.scalars(select(SlaTarget).where(SlaTarget.ticket_id == ticket_id))).all()
    if not rows:
        return None
    ordered = in_order(rows)
    deadlines = "; ".join(
        text(
            locale,
            "telegram.sla_deadline",
            target=text(locale, f"sla.target.{row.target}"),
            when=row.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        for row in ordered
    )
    return text(locale, "telegram.sla", level=ordered[0].level, deadlines=deadlines)
