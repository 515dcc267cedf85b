"""Whether a customer can be messaged where they wrote from, as the platform tells it."""

from __future__ import annotations

import logging

from sqlalchemy import update

from core.models import Identity
from core.work import Work

log = logging.getLogger("otklik.core")


async def unreachable(work: Work, inbox: str, external_id: str, reason: str) -> bool:
    ref = await work.inboxes.named(work.session, inbox)
    changed = await work.session.execute(
        update(Identity)
        .where(Identity.inbox_id == ref.id, Identity.external_id == external_id)
        .values(unreachable_since=work.now, unreachable_reason=reason[:200])
    )
    known = bool(changed.rowcount)
    if known:
        log.info("customer %s in %s cannot be messaged: %s", external_id, inbox, reason)
    return known
