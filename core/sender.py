"""The sender: claims due outbox rows and hands them to their channel, with retries.

Delivery is at least once towards the adapter: a row is marked sent only after the channel
accepted it. A row is one or more platform messages (a long text goes in parts, fitted to the
channel's capabilities by core/adapt.py); each part is recorded as sent once the channel
accepted it, so a retry after a partial send sends only the parts that did not go. Adapters
pass ``Outbound.key`` and ``part`` to platforms that de-duplicate (VK's random_id) and the web
chat drops a message id it already shows, so a retry after a crash between "platform
accepted" and "recorded" does not show twice.

Messages go out side by side across recipients and in queue order within one recipient
(inbox and platform id): a chat the platform lets us write to once a second holds up that
chat's messages only. A message that will be retried holds back the later ones to the same
recipient in this process until its retry (they are put back untried, to go after it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import adapt, events, metrics, outbox
from core.bus import EventBus
from core.channels import Channel, DeliveryError, Sent
from core.clock import utcnow
from core.db import Database
from core.events import Event
from core.i18n import text
from core.logctx import bound
from core.models import Delivery, OutboxItem
from core.stopping import unless_stopped

log = logging.getLogger("otklik.sender")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_retry: timedelta = timedelta(seconds=2)
    max_retry: timedelta = timedelta(minutes=10)
    lease: timedelta = timedelta(minutes=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_retry * 2 ** max(attempts - 1, 0), self.max_retry)


Recipient = tuple[str, str]  # inbox and the platform's id of the customer


class TakenOver(Exception):
    """Another sender took the row over (this one's lease ran out): it goes on from there."""


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
        concurrency: int = 32,
    ) -> None:
        self._db = db
        self._channels = channels
        self._bus = bus
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._batch = batch
        self._locale = locale
        self._wakeup = asyncio.Event()
        self._one_pass = asyncio.Lock()
        self._lanes_at_once = asyncio.Semaphore(concurrency)
        self._in_hand: dict[int, int] = {}  # claimed rows not finished yet: id → attempts
        self._lanes: dict[Recipient, deque[outbox.Claimed]] = {}  # rows waiting, per recipient
        self._paused: dict[Recipient, datetime] = {}  # recipients waiting for a retry

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Deliver until cancelled."""
        log.info("sender started for inboxes: %s", ", ".join(sorted(self._channels)) or "none")
        while True:
            unless_stopped()
            try:
                await self.drain(poll_seconds)
            except Exception:
                unless_stopped()
                log.exception("sender pass failed; retrying in %ss", poll_seconds)
            await self._nap(poll_seconds)

    async def drain(self, poll_seconds: float = 1.0) -> int:
        """Deliver everything due, and what comes due meanwhile, until nothing is left in
        hand; return how many rows were tried.

        Rows are claimed while earlier ones are still out, up to ``batch`` in hand. Each
        recipient's rows form a lane, delivered one after another in queue order (rows of a
        recipient claimed later join its lane); up to ``concurrency`` lanes go at once, so one
        chat's rate limit holds up only that chat. The leases are renewed meanwhile."""
        async with self._one_pass, self._renewing():
            try:
                async with asyncio.TaskGroup() as lanes:
                    return await self._claim_while_busy(lanes, poll_seconds)
            finally:
                self._in_hand.clear()
                self._lanes.clear()

    async def _claim_while_busy(self, lanes: asyncio.TaskGroup, poll_seconds: float) -> int:
        tried = 0
        while True:
            self._wakeup.clear()
            room = self._batch - len(self._in_hand)
            claimed = await self._claim(room) if room > 0 else []
            tried += len(claimed)
            for recipient, rows in by_recipient(claimed).items():
                if recipient not in self._lanes:
                    self._lanes[recipient] = deque()
                    lanes.create_task(self._lane(recipient))
                self._lanes[recipient].extend(rows)
            if not self._in_hand:
                return tried
            # Until there is room in a full hand, the hand is empty or something was queued;
            # at most ``poll_seconds``, as a retry may have come due.
            await self._nap(poll_seconds)

    async def _nap(self, seconds: float) -> None:
        """Wait until woken or ``seconds`` pass. asyncio.timeout, not wait_for: on Python 3.11
        wait_for can swallow a cancellation that races its timeout, and a sender being stopped
        would then run on for ever."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()

    async def _claim(self, limit: int) -> list[outbox.Claimed]:
        now = self._clock()
        async with self._db.transaction() as session:
            ids = await outbox.claim(session, now, self._policy.lease, limit)
        async with self._db.reading() as session:
            claimed = [await outbox.load(session, item_id) for item_id in ids]
        self._in_hand.update((c.item.id, c.item.attempts) for c in claimed)
        self._paused = {r: until for r, until in self._paused.items() if until > now}
        return claimed

    async def _lane(self, recipient: Recipient) -> None:
        """Deliver a recipient's rows in queue order, including rows claimed meanwhile."""
        rows = self._lanes[recipient]
        try:
            async with self._lanes_at_once:
                while rows:
                    await self._next_in_lane(recipient, rows[0])
                    self._done(rows.popleft())
        except Exception:  # the database, most likely: the other lanes go on
            log.exception("delivery to %s stopped; its rows go again after their lease", recipient)
            while rows:
                self._done(rows.popleft())
        del self._lanes[recipient]

    async def _next_in_lane(self, recipient: Recipient, claimed: outbox.Claimed) -> None:
        """Deliver the row, unless an earlier one to the recipient waits for a retry: then it
        is put back to go after that one."""
        paused = self._paused.get(recipient)
        if paused is not None:
            await self._put_back(claimed, paused)
        elif (retry_at := await self._deliver(claimed)) is not None:
            self._paused[recipient] = retry_at

    def _done(self, claimed: outbox.Claimed) -> None:
        """A row left the hand: wake the claiming loop if it waits for room or for the end."""
        full = len(self._in_hand) >= self._batch
        del self._in_hand[claimed.item.id]
        if full or not self._in_hand:
            self._wakeup.set()

    async def _deliver(self, claimed: outbox.Claimed) -> datetime | None:
        """Hand the row to its channel; return when it will be retried, if it will be."""
        out = claimed.outbound
        with bound(ticket=out.ticket_number, inbox=out.inbox, outbox=out.outbox_id):
            channel = self._channels.get(out.inbox)
            try:
                if channel is None:
                    raise DeliveryError(f"no adapter is running for inbox {out.inbox!r}")
                if claimed.unreachable:
                    raise DeliveryError(
                        f"the customer cannot be messaged here: {claimed.unreachable}",
                        permanent=True,
                    )
                sent = await self._send_parts(claimed, channel)
            except TakenOver:
                log.warning("outbox %s was taken over by another sender meanwhile", out.outbox_id)
                return None
            except DeliveryError as exc:
                return await self._failed(claimed, exc)
            except Exception as exc:
                log.exception("channel %s raised while sending", claimed.channel)
                return await self._failed(claimed, DeliveryError(f"{type(exc).__name__}: {exc}"))
            await self._sent(claimed, sent)
            return None

    async def _send_parts(self, claimed: outbox.Claimed, channel: Channel) -> Sent:
        """Send the platform messages the row makes on its channel (core/adapt.py), from the
        first one an earlier attempt did not send; each one sent is recorded at once. The
        row's platform id is its first message's."""
        item = claimed.item
        pieces = adapt.parts(claimed.outbound, channel.capabilities, self._locale)
        first = Sent(item.platform_message_id)
        for piece in pieces[item.parts_sent :]:
            sent = await channel.send(piece)
            first = sent if piece.part == 0 else first
            if len(pieces) > 1:
                await self._part_sent(claimed, piece.part + 1, first)
        return first

    async def _part_sent(self, claimed: outbox.Claimed, count: int, first: Sent) -> None:
        async with self._db.transaction() as session:
            ours = await _update_if_ours(
                session,
                claimed.item,
                parts_sent=count,
                platform_message_id=first.platform_message_id,
            )
        if not ours:
            raise TakenOver()

    async def _put_back(self, claimed: outbox.Claimed, at: datetime) -> None:
        """Queue a claimed row again, untried, for ``at``: its attempt does not count."""
        item = claimed.item
        async with self._db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == item.id,
                    OutboxItem.status == Delivery.SENDING,
                    OutboxItem.attempts == item.attempts,
                )
                .values(
                    status=Delivery.QUEUED,
                    claimed_until=None,
                    next_attempt_at=at,
                    attempts=item.attempts - 1,
                )
            )
        log.info("outbox %s waits behind an earlier message to the same customer", item.id)

    @contextlib.asynccontextmanager
    async def _renewing(self) -> AsyncIterator[None]:
        """Renew the leases of the rows in hand every third of a lease: waiting for a
        platform's rate limits may outlast a lease, and another sender must not take over
        rows this one still works on."""
        renewing = asyncio.create_task(self._renew(), name="otklik-sender-leases")
        try:
            yield
        finally:
            renewing.cancel()
            # Not ``suppress(CancelledError)`` around ``await renewing``: that would swallow
            # the sender's own cancellation arriving meanwhile, and the stopped service's
            # sender would go on claiming rows (another service's, in tests) for ever.
            await asyncio.wait([renewing])

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._policy.lease.total_seconds() / 3)
            if not self._in_hand:
                continue
            ours = tuple_(OutboxItem.id, OutboxItem.attempts).in_(list(self._in_hand.items()))
            try:
                async with self._db.transaction() as session:
                    await session.execute(
                        update(OutboxItem)
                        .where(ours, OutboxItem.status == Delivery.SENDING)
                        .values(claimed_until=self._clock() + self._policy.lease)
                    )
            except Exception:
                log.exception("could not renew the leases of outbox rows in hand")

    async def _sent(self, claimed: outbox.Claimed, sent: Sent) -> None:
        item, now = claimed.item, self._clock()
        metrics.SENT.labels(claimed.channel).inc()
        await self._finish(
            claimed,
            status=Delivery.SENT,
            sent_at=now,
            claimed_until=None,
            platform_message_id=sent.platform_message_id,
            last_error=None,
        )
        log.info("outbox %s sent (attempt %s)", item.id, item.attempts)

    async def _failed(self, claimed: outbox.Claimed, exc: DeliveryError) -> datetime | None:
        """Record the failure; return when the row will be tried again (None: never)."""
        item = claimed.item
        final = exc.permanent or item.attempts >= self._policy.max_attempts
        metrics.DELIVERY_FAILURES.labels(claimed.channel, "true" if final else "false").inc()
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
            return None
        delay = (
            timedelta(seconds=exc.retry_after)
            if exc.retry_after is not None
            else self._policy.delay(item.attempts)
        )
        retry_at = self._clock() + delay
        await self._finish(
            claimed,
            status=Delivery.QUEUED,
            claimed_until=None,
            next_attempt_at=retry_at,
            last_error=exc.reason,
        )
        log.warning(
            "outbox %s attempt %s failed, retry in %ss: %s",
            item.id,
            item.attempts,
            delay.total_seconds(),
            exc.reason,
        )
        return retry_at

    async def _finish(
        self, claimed: outbox.Claimed, note: str | None = None, **values: object
    ) -> None:
        """Record the attempt's outcome; ``note`` tells the agents in the ticket (internal)."""
        item = claimed.item
        async with self._db.transaction() as session:
            ours = await _update_if_ours(session, item, **values)
            if note and ours:
                await outbox.system_note(session, item.message_id, note, self._clock())
        if not ours:
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


async def _update_if_ours(session: AsyncSession, item: OutboxItem, **values: object) -> bool:
    """Update a claimed row unless another sender took it over meanwhile (its lease ran out:
    the row moved on from this attempt); whether it was updated."""
    changed = await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item.id,
            OutboxItem.status == Delivery.SENDING,
            OutboxItem.attempts == item.attempts,
        )
        .values(**values)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def by_recipient(rows: Iterable[outbox.Claimed]) -> dict[Recipient, list[outbox.Claimed]]:
    """The rows per recipient, each list in the rows' order."""
    lanes: dict[Recipient, list[outbox.Claimed]] = {}
    for claimed in rows:
        lanes.setdefault((claimed.outbound.inbox, claimed.outbound.external_id), []).append(claimed)
    return lanes
