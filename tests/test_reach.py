"""A customer the platform says cannot be messaged: their messages fail at once, with the reason,
until they write again."""

from sqlalchemy import select

from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.messages import Inbound
from core.models import Delivery, Message, OutboxItem
from core.sender import Sender
from tests.fakes.channel import FakeChannel
from tests.people import make_agent


async def test_an_unreachable_customer_is_not_messaged_until_they_write_again(
    desk: Desk, db: Database
):
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))
    anna = await make_agent(db, "anna")
    assert await desk.unreachable("web", "v1", "unsubscribed from the bot")
    assert not await desk.unreachable("web", "stranger", "unsubscribed")  # unknown: no-op
    await desk.reply(got.ticket_number, anna, "Are you there?")
    channel = FakeChannel()
    sender = Sender(db, {"web": channel}, LocalBus())
    await sender.drain()
    assert channel.sent == []  # not even tried
    async with db.reading() as s:
        [item] = (await s.scalars(select(OutboxItem))).all()
        notes = (await s.scalars(select(Message.text).where(Message.internal.is_(True)))).all()
    assert item.status == Delivery.FAILED and item.attempts == 1
    assert item.last_error == "the customer cannot be messaged here: unsubscribed from the bot"
    assert len(notes) == 1 and "unsubscribed from the bot" in notes[0]

    await desk.receive(Inbound(inbox="web", external_id="v1", text="back again"))
    await desk.reply(got.ticket_number, anna, "Welcome back")
    await sender.drain()
    assert [out.text for out in channel.sent] == ["Welcome back"]
