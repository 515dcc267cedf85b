"""Log lines about a ticket carry the ticket and inbox as fields."""

import io
import json
import logging

from core.desk import Desk
from core.messages import Inbound
from otklik.logs import setup_logging


async def test_lines_about_a_ticket_name_it_and_its_inbox(desk: Desk):
    await desk.sync_inboxes([("web", "webchat")])
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging(as_json=True)
    buffer = io.StringIO()
    root.handlers[0].stream = buffer
    try:
        await desk.receive(Inbound(inbox="web", external_id="v", text="hello"))
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    stored = next(line for line in lines if "stored" in line["message"])
    assert stored["ticket"] == 1 and stored["inbox"] == "web"
    assert stored["logger"] == "otklik.core" and stored["level"] == "info"
