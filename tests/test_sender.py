"""The outbox and sender: nothing committed is lost, nothing is sent twice, failures are kept."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import outbox, queries
from core.bus import LocalBus
from core.channels import DeliveryError, Sent
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.messages import Button, Inbound, Outbound
from core.models import Delivery, OutboxItem
from core.sender import RetryPolicy, Sender
from tests.fakes.channel import ANYTHING, FakeChannel
from tests.people import make_agent


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
async def replied(desk: Desk, db: Database) -> int:
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))
    anna = await make_agent(db, "anna")
    await desk.reply(got.ticket_number, anna, "Hi, how can I help?", [Button("Order", "order")])
    return got.ticket_number


async def _items(db: Database) -> list[OutboxItem]:
    async with db.reading() as s:
        return list((await s.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def test_committed_reply_is_sent_once_by_a_sender_started_later(db: Database, replied: int):
    # The process that committed the reply died before delivering: only the row is left.
    # A new process (new engine, new sender) finds it and sends it exactly once.
    fresh = Database(db.url)
    channel = FakeChannel()
    sender = Sender(fresh, {"web": channel}, LocalBus())
    assert await sender.drain() == 1
    assert await sender.drain() == 0
    [out] = channel.sent
    assert out.text == "Hi, how can I help?" and out.external_id == "v1"
    assert out.ticket_number == replied and [b.label for b in out.buttons] == ["Order"]
    [item] = await _items(db)
    assert item.status == Delivery.SENT and item.platform_message_id == "p1"
    await fresh.close()


async def test_sender_that_died_holding_a_claim_is_taken_over_after_the_lease(
    db: Database, replied: int
):
    clock = Clock()
    policy = RetryPolicy(lease=timedelta(seconds=30))
    async with db.transaction() as s:  # a sender claimed the row, then was killed
        await s.execute(
            update(OutboxItem).values(
                status=Delivery.SENDING, attempts=1, claimed_until=clock.now + policy.lease
            )
        )
    channel = FakeChannel()
    sender = Sender(db, {"web": channel}, LocalBus(), policy, clock=clock)
    assert await sender.drain() == 0  # still leased: not touched
    clock.now += timedelta(seconds=31)
    assert await sender.drain() == 1
    assert len(channel.sent) == 1
    [item] = await _items(db)
    assert item.status == Delivery.SENT and item.attempts == 2


async def test_transient_failure_backs_off_then_succeeds(db: Database, replied: int):
    clock = Clock()
    channel = FakeChannel(DeliveryError("timeout"), DeliveryError("503"))
    sender = Sender(db, {"web": channel}, LocalBus(), RetryPolicy(), clock=clock)
    await sender.drain()
    [item] = await _items(db)
    assert item.status == Delivery.QUEUED and item.last_error == "timeout"
    assert item.next_attempt_at == clock.now + timedelta(seconds=2)
    assert await sender.drain() == 0  # not due yet
    clock.now += timedelta(seconds=2)
    await sender.drain()
    [item] = await _items(db)
    assert item.next_attempt_at == clock.now + timedelta(seconds=4)  # doubled
    clock.now += timedelta(seconds=4)
    await sender.drain()
    [item] = await _items(db)
    assert item.status == Delivery.SENT and item.attempts == 3 and len(channel.sent) == 1


async def test_platform_retry_after_is_respected(db: Database, replied: int):
    clock = Clock()
    channel = FakeChannel(DeliveryError("flood", retry_after=17))
    await Sender(db, {"web": channel}, LocalBus(), clock=clock).drain()
    [item] = await _items(db)
    assert item.next_attempt_at == clock.now + timedelta(seconds=17)


async def test_permanent_failure_is_kept_with_its_reason(db: Database, replied: int):
    channel = FakeChannel(DeliveryError("user blocked the bot", permanent=True))
    bus = LocalBus()
    seen = []

    async def record(event):
        seen.append(event)

    bus.subscribe(record)
    await Sender(db, {"web": channel}, bus).drain()
    ticket = await queries.ticket(db, replied)
    reply = (await queries.messages(db, ticket.id))[-2]
    assert reply.delivery.status == Delivery.FAILED
    assert reply.delivery.last_error == "user blocked the bot"
    note = (await queries.messages(db, ticket.id))[-1]
    assert note.internal and note.author_agent_id is None
    assert note.text.startswith("Delivery failed: user blocked the bot.")
    assert seen[0].data == {
        "message_id": reply.id,
        "status": "failed",
        "ticket_number": replied,
        "error": "user blocked the bot",
    }


async def test_gives_up_after_max_attempts(db: Database, replied: int):
    clock = Clock()
    channel = FakeChannel(*[DeliveryError("down")] * 3)
    sender = Sender(db, {"web": channel}, LocalBus(), RetryPolicy(max_attempts=3), clock=clock)
    for _ in range(3):
        await sender.drain()
        clock.now += timedelta(hours=1)
    [item] = await _items(db)
    assert item.status == Delivery.FAILED and item.attempts == 3
    assert await sender.drain() == 0


async def test_missing_adapter_is_retried_not_dropped(db: Database, replied: int):
    await Sender(db, {}, LocalBus()).drain()
    [item] = await _items(db)
    assert item.status == Delivery.QUEUED and "no adapter" in (item.last_error or "")


class SlowChannel:
    """Takes ``seconds`` per message (or per text, from a dict); notes how many messages were
    in flight at once, in all and to one recipient."""

    capabilities = ANYTHING

    def __init__(
        self, seconds: float | dict[str, float] = 0.05, fail: dict[str, DeliveryError] | None = None
    ) -> None:
        self.sent: list[Outbound] = []
        self._seconds = seconds
        self._fail = fail or {}  # the first try of these texts fails
        self._in_flight: Counter[str] = Counter()
        self.most = self.most_to_one = 0

    async def send(self, outbound: Outbound) -> Sent:
        self._in_flight[outbound.external_id] += 1
        self.most = max(self.most, self._in_flight.total())
        self.most_to_one = max(self.most_to_one, self._in_flight[outbound.external_id])
        seconds = self._seconds
        await asyncio.sleep(seconds if isinstance(seconds, float) else seconds[outbound.text])
        self._in_flight[outbound.external_id] -= 1
        if outbound.text in self._fail:
            raise self._fail.pop(outbound.text)
        self.sent.append(outbound)
        return Sent(platform_message_id=f"p{len(self.sent)}")

    def texts_to(self, visitor: str) -> list[str]:
        return [o.text for o in self.sent if o.external_id == visitor]


async def queue_replies(desk: Desk, replies: dict[str, list[str]]) -> dict[str, int]:
    """Each visitor writes once, then gets the replies; their ticket numbers."""
    await desk.sync_inboxes([("web", "webchat")])
    numbers = {}
    for visitor, texts in replies.items():
        got = await desk.receive(Inbound(inbox="web", external_id=visitor, text="hello"))
        numbers[visitor] = got.ticket_number
        for reply in texts:
            await desk.reply(got.ticket_number, None, reply)
    return numbers


async def test_recipients_are_delivered_side_by_side(desk: Desk, db: Database):
    await queue_replies(desk, {"v1": ["to v1"], "v2": ["to v2"]})
    channel = SlowChannel(0.2)
    assert await Sender(db, {"web": channel}, LocalBus()).drain() == 2
    assert channel.most == 2
    assert sorted(o.text for o in channel.sent) == ["to v1", "to v2"]


async def test_one_recipients_messages_go_one_at_a_time_in_queue_order(desk: Desk, db: Database):
    # Later messages would take less time: sent side by side, they would arrive first.
    texts = [f"part {n}" for n in range(5)]
    await queue_replies(desk, {"v1": texts, "v2": ["other"]})
    seconds = {text: 0.05 * (5 - n) for n, text in enumerate(texts)} | {"other": 0.01}
    channel = SlowChannel(seconds)
    await Sender(db, {"web": channel}, LocalBus()).drain()
    assert channel.texts_to("v1") == texts and channel.texts_to("v2") == ["other"]
    assert channel.most_to_one == 1 and channel.most == 2
    assert {item.status for item in await _items(db)} == {Delivery.SENT}


async def test_recipients_at_once_are_bounded(desk: Desk, db: Database):
    await queue_replies(desk, {f"v{n}": [f"to v{n}"] for n in range(6)})
    channel = SlowChannel(0.05)
    assert await Sender(db, {"web": channel}, LocalBus(), concurrency=2).drain() == 6
    assert channel.most == 2 and len(channel.sent) == 6


async def test_a_long_delivery_keeps_its_lease(desk: Desk, db: Database):
    # Waiting for a platform's rate limit can outlast a lease: the sender renews it, so a
    # second sender (another process) does not take the rows over and send them again.
    await queue_replies(desk, {"v1": ["first", "second"]})
    policy = RetryPolicy(lease=timedelta(seconds=1))
    channel = SlowChannel(1.0)
    working = asyncio.create_task(Sender(db, {"web": channel}, LocalBus(), policy).drain())
    other = Database(db.url)
    try:
        for _ in range(3):
            await asyncio.sleep(0.5)
            assert await Sender(other, {"web": FakeChannel()}, LocalBus(), policy).drain() == 0
    finally:
        await other.close()
    assert await working == 2
    assert channel.texts_to("v1") == ["first", "second"]
    assert [item.attempts for item in await _items(db)] == [1, 1]


async def test_a_retry_holds_back_the_later_messages_to_that_customer(desk: Desk, db: Database):
    numbers = await queue_replies(desk, {"v1": ["first", "second"], "v2": ["other"]})
    clock = Clock()
    channel = SlowChannel(0.01, fail={"first": DeliveryError("flood", retry_after=5)})
    sender = Sender(db, {"web": channel}, LocalBus(), clock=clock)
    await sender.drain()
    assert channel.texts_to("v1") == [] and channel.texts_to("v2") == ["other"]
    first, second, _ = await _items(db)
    assert (first.status, first.attempts) == (Delivery.QUEUED, 1)
    assert (second.status, second.attempts) == (Delivery.QUEUED, 0)  # not tried: no attempt
    assert second.next_attempt_at == first.next_attempt_at == clock.now + timedelta(seconds=5)

    clock.now += timedelta(seconds=1)  # a reply queued meanwhile waits its turn too
    await desk.reply(numbers["v1"], None, "third")
    await sender.drain()
    assert channel.texts_to("v1") == []

    clock.now += timedelta(seconds=4)
    await sender.drain()
    assert channel.texts_to("v1") == ["first", "second", "third"]
    assert [item.attempts for item in await _items(db)] == [2, 1, 1, 1]


async def test_a_lane_that_breaks_stops_alone(
    desk: Desk, db: Database, monkeypatch: pytest.MonkeyPatch
):
    await queue_replies(desk, {"v1": ["first", "second"], "v2": ["other"]})
    sender = Sender(db, {"web": SlowChannel(0.01)}, LocalBus())
    record_sent = sender._sent

    async def database_gone_for_v1(claimed: outbox.Claimed, sent: Sent) -> None:
        if claimed.outbound.external_id == "v1":
            raise ConnectionError("database gone")
        await record_sent(claimed, sent)

    monkeypatch.setattr(sender, "_sent", database_gone_for_v1)
    assert await asyncio.wait_for(sender.drain(), 5) == 3
    # v1's rows stay claimed: they go again once their lease has run out.
    assert [i.status for i in await _items(db)] == [Delivery.SENDING] * 2 + [Delivery.SENT]
