"""The service as assembled (otklik/service.py) keeps SLA deadlines: a ticket registered gets
them, an agent's reply through the JSON API meets the reaction, and the running engine fires a
breach and the rules' within_working_hours by the inbox's calendar."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from sqlalchemy import select

from core.db import Database
from core.messages import Inbound
from core.models import Message, Ticket
from tests.engine import Clock
from tests.service import Running, running, service_config
from tests.sla_rig import LEVELS, OFFICE, at, targets
from tests.waiting import eventually

RULES = """
[[rule]]
id = "after-hours"
on = "ticket.created"
if = { within_working_hours = false }
then = [{ action = "note", text = "after hours" }]

[[rule]]
id = "breach-note"
on = "sla.resolution_breached"
then = [{ action = "note", text = "resolution breached" }]
"""


async def test_the_service_writes_meets_and_escalates_deadlines(db: Database, tmp_path: Path):
    clock = Clock()  # Monday 09:00 UTC
    config = service_config(
        db.url,
        tmp_path,
        calendars={"office": OFFICE},
        sla={"level": LEVELS, "warn_before": "15m"},
        inbox=[{"name": "web", "channel": "webchat", "calendar": "office"}],
    )
    (tmp_path / "dispatcher_rules" / "sla.toml").write_text(RULES, encoding="utf-8")
    async with running(config, clock=clock) as svc:
        desk = svc.state.desk
        got = await desk.receive(Inbound(inbox="web", external_id="alice", text="hi"))
        number = got.ticket_number
        token = await svc.agent_token("ann")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            reply = await http.post(
                f"{svc.url}/api/v1/tickets/{number}/replies", json={"text": "On it"}
            )
            assert reply.status == 201, await reply.text()
        rows = await targets(db, number)
        assert rows["reaction"].met_at == at(23, 9)
        assert rows["resolution"].due_at == at(25, 18)
        clock.now = at(28, 10)  # Saturday: past the resolution deadline, after hours
        weekend = await desk.receive(Inbound(inbox="web", external_id="bob", text="hello"))

        async def noted() -> bool:
            return (await texts(svc, number), await texts(svc, weekend.ticket_number)) == (
                ["resolution breached"],
                ["after hours"],
            )

        await eventually(noted)
    assert (await targets(db, number))["resolution"].breached


async def texts(svc: Running, number: int) -> list[str]:
    """The ticket's internal notes, oldest first."""
    async with svc.state.db.reading() as s:
        found = await s.scalars(
            select(Message.text)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Ticket.number == number, Message.internal.is_(True))
            .order_by(Message.id)
        )
        return list(found)
