"""The outbox and sender: nothing committed is lost, nothing is sent twice, failures are kept."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import queries
from core.bus import LocalBus
from core.channels import DeliveryError
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.messages import Button, Inbound
from core.models import Delivery, OutboxItem
from core.sender import RetryPolicy, Sender
from tests.fakes.channel import FakeChannel
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
