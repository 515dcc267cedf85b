"""A ticket's SLA deadlines as a line in its forum topic, posted as the topic opens.

The deadlines are written with the ticket, in the transaction that registers it, so they are
there when the forum mirrors ``ticket.created``. Times are the service's local times
(``timezone`` in config.toml), the zone named after them.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import select

from core.db import Database
from core.i18n import text
from core.models import SlaTarget
from core.sla.status import in_order


async def line(db: Database, locale: str, zone: tzinfo, ticket_id: int) -> str | None:
    """``⏱ SLA «VIP»: Reaction by 2026-03-10 12:30; Resolution by … (Europe/Moscow)``, times
    in ``zone``; None without SLA."""
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
            when=row.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
        for row in ordered
    )
    level = ordered[0].level
    return text(locale, "telegram.sla", level=level, deadlines=deadlines, zone=str(zone))
