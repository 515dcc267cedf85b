"""A process killed right after committing a reply: the reply is sent once after restart."""

import asyncio
import signal
import sys
import textwrap

from core import queries
from core.bus import LocalBus
from core.db import Database
from core.desk import Desk
from core.messages import Inbound
from core.models import Delivery
from core.sender import Sender
from tests.fakes.channel import FakeChannel
from tests.people import make_agent

# Runs in a child process: commit a reply, then die by SIGKILL before any sender runs.
CHILD = textwrap.dedent("""
    import asyncio, os, signal, sys
    from core.bus import LocalBus
    from core.db import Database
    from core.desk import Desk
    from core import queries

    async def main(url):
        db = Database(url)
        desk = Desk(db, LocalBus())
        agent = (await queries.agents(db))[0]
        await desk.reply(1, agent, "Your refund is on its way")
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(sys.argv[1]))
""")


async def test_reply_committed_by_a_killed_process_is_delivered_once(db: Database):
    desk = Desk(db, LocalBus())
    await desk.sync_inboxes([("web", "webchat")])
    await desk.receive(Inbound(inbox="web", external_id="v1", text="refund?"))
    await make_agent(db, "anna")

    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, db.url)
    assert await child.wait() == -signal.SIGKILL

    ticket = await queries.ticket(db, 1)
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.text == "Your refund is on its way"
    assert reply.delivery.status == Delivery.QUEUED  # committed, never delivered

    channel = FakeChannel()
    fresh = Database(db.url)
    restarted = Sender(fresh, {"web": channel}, LocalBus())
    await restarted.drain()
    await restarted.drain()
    await fresh.close()
    assert [o.text for o in channel.sent] == ["Your refund is on its way"]
    reply = (await queries.messages(db, ticket.id))[-1]
    assert reply.delivery.status == Delivery.SENT
