"""The sender: claims due outbox rows and hands them to their channel, with retries.

Delivery is at least once towards the adapter: a row is marked sent only after the channel
accepted it. Adapters pass ``Outbound.key`` to platforms that de-duplicate (VK's random_id)
and the web chat drops a message id it already shows, so a retry after a crash between
"platform accepted" and "marked sent" does not show twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from core import events, outbox
from core.bus import EventBus
from core.channels import Channel, DeliveryError, Sent
from core.clock import utcnow
from core.db import Database
from core.events import Event
from core.i18n import text
from core.logctx import bound
from core.models import Delivery, OutboxItem

log = logging.getLogger("otklik.sender")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_retry: timedelta = timedelta(seconds=2)
    max_retry: timedelta = timedelta(minutes=10)
    lease: timedelta = timedelta(minutes=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_retry * 2 ** max(attempts - 1, 0), self.max_retry)


class Sender:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        bus: EventBus,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 50,
        locale: str = "en",
    ) -> None:
        self._db = db
        self._channels = channels
        self._bus = bus
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._batch = batch
        self._locale = locale
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Deliver until cancelled."""
        log.info("sender started for inboxes: %s", ", ".join(sorted(self._channels)) or "none")
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("sender pass failed; retrying in %ss", poll_seconds)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), poll_seconds)

    async def drain(self) -> int:
        """Deliver everything due now; return how many rows were tried."""
        tried = 0
        while True:
            async with self._db.transaction() as session:
                ids = await outbox.claim(session, self._clock(), self._policy.lease, self._batch)
            if not ids:
                return tried
            for item_id in ids:
                await self._deliver(item_id)
            tried += len(ids)

    async def _deliver(self, item_id: int) -> None:
        async with self._db.reading() as session:
            claimed = await outbox.load(session, item_id)
        out = claimed.outbound
        with bound(ticket=out.ticket_number, inbox=out.inbox, outbox=item_id):
            channel = self._channels.get(out.inbox)
            try:
                if channel is None:
                    raise DeliveryError(f"no adapter is running for inbox {out.inbox!r}")
                sent = await channel.send(out)
            except DeliveryError as exc:
                await self._failed(claimed, exc)
            except Exception as exc:
                log.exception("channel %s raised while sending", claimed.channel)
                await self._failed(claimed, DeliveryError(f"{type(exc).__name__}: {exc}"))
            else:
                await self._sent(claimed, sent)

    async def _sent(self, claimed: outbox.Claimed, sent: Sent) -> None:
        item, now = claimed.item, self._clock()
        await self._finish(
            claimed,
            status=Delivery.SENT,
            sent_at=now,
            claimed_until=None,
            platform_message_id=sent.platform_message_id,
            last_error=None,
        )
        log.info("outbox %s sent (attempt %s)", item.id, item.attempts)

    async def _failed(self, claimed: outbox.Claimed, exc: DeliveryError) -> None:
        item = claimed.item
        final = exc.permanent or item.attempts >= self._policy.max_attempts
        if final:
            await self._finish(
                claimed,
                note=text(self._locale, "sender.failed_note", reason=exc.reason),
                status=Delivery.FAILED,
                claimed_until=None,
                last_error=exc.reason,
            )
            log.error(
                "outbox %s failed for good after %s attempt(s): %s",
                item.id,
                item.attempts,
                exc.reason,
            )
            return
        delay = (
            timedelta(seconds=exc.retry_after)
            if exc.retry_after is not None
            else self._policy.delay(item.attempts)
        )
        await self._finish(
            claimed,
            status=Delivery.QUEUED,
            claimed_until=None,
            next_attempt_at=self._clock() + delay,
            last_error=exc.reason,
        )
        log.warning(
            "outbox %s attempt %s failed, retry in %ss: %s",
            item.id,
            item.attempts,
            delay.total_seconds(),
            exc.reason,
        )

    async def _finish(
        self, claimed: outbox.Claimed, note: str | None = None, **values: object
    ) -> None:
        """Record the attempt's outcome; ``note`` tells the agents in the ticket (internal)."""
        item = claimed.item
        async with self._db.transaction() as session:
            changed = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == item.id,
                    OutboxItem.status == Delivery.SENDING,
                    OutboxItem.attempts == item.attempts,
                )
                .values(**values)
            )
            if note and changed.rowcount:  # type: ignore[attr-defined]
                await outbox.system_note(session, item.message_id, note, self._clock())
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            log.warning("outbox %s was taken over by another sender meanwhile", item.id)
            return
        await self._bus.publish(
            [
                Event(
                    events.DELIVERY_CHANGED,
                    self._clock(),
                    data={
                        "message_id": item.message_id,
                        "status": values["status"],
                        "ticket_number": claimed.outbound.ticket_number,
                        "error": values.get("last_error"),
                    },
                )
            ]
        )
