"""/metrics: who may read it, and each figure counted where it happens (core/metrics.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import delays, metrics
from core.bus import LocalBus
from core.channels import DeliveryError
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.events import (
    SLA_REACTION_BREACHED,
    SLA_REACTION_WARNING,
    SLA_RESOLUTION_BREACHED,
    TICKET_CLOSED,
    TICKET_REOPENED,
    Event,
)
from core.messages import Inbound
from core.sender import RetryPolicy, Sender
from tests.engine import Rig
from tests.fakes.channel import FakeChannel
from tests.people import make_agent
from tests.service import Running, running, service_config
from tests.sla_rig import at, policy, sla_rig
from web.metrics import Queues, read_queues

TOKEN = "scraper-token-0123456789"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def value(name: str, **labels: str) -> float:
    """The sample's value in the process's registry (0 before anything was counted)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(svc: Running, **headers: str) -> tuple[int, dict[str, float]]:
    """The status and, when 200, every unlabelled or labelled sample as ``name{a="b"}``."""
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{svc.url}/metrics", headers=headers)
        body = await response.text()
    if response.status != 200:
        return response.status, {}
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return 200, samples


async def test_loopback_reads_the_metrics_and_a_proxied_request_is_refused(service: Running):
    status, samples = await scrape(service)
    assert status == 200
    assert samples["otklik_database_up"] == 1
    assert samples["otklik_outbox_depth"] == 0
    assert samples["otklik_rule_runs_overdue"] == 0
    assert samples["otklik_scheduler_running"] == 1
    assert "process_resident_memory_bytes" in samples
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert (await scrape(service, **{header: "203.0.113.7"}))[0] == 403


async def test_with_a_token_configured_only_its_bearer_reads(
    db: Database, database_url: str, tmp_path: Path
):
    web = {"secret_key": "s" * 40, "metrics_token": TOKEN}
    async with running(service_config(database_url, tmp_path, web=web)) as svc:
        assert (await scrape(svc))[0] == 403  # loopback is not enough then
        assert (await scrape(svc, Authorization=f"Bearer {TOKEN}x"))[0] == 403
        assert (await scrape(svc, Authorization=TOKEN))[0] == 403
        status, samples = await scrape(svc, Authorization=f"Bearer {TOKEN}")
        assert status == 200 and samples["otklik_database_up"] == 1
        # Through a proxy, the token still lets the scraper in.
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.7"}
        assert (await scrape(svc, **headers))[0] == 200


async def test_inbound_messages_are_counted_per_channel_and_a_replay_is_not(service: Running):
    key = 'otklik_inbound_messages_total{channel="webchat"}'
    before = (await scrape(service))[1].get(key, 0.0)
    async with service.client() as chat:
        await chat.get("/chat/web")
        said = {"text": "Where is my order?", "client_id": "client-0001"}
        assert (await chat.post("/chat/api/web/messages", json=said)).status == 201
        assert (await chat.post("/chat/api/web/messages", json=said)).status == 200  # replay
        refused = {"text": "", "client_id": "client-0002"}
        assert (await chat.post("/chat/api/web/messages", json=refused)).status == 400
    assert (await scrape(service))[1][key] == before + 1


async def test_the_queue_gauges_are_read_from_the_database(desk: Desk, db: Database):
    await desk.sync_inboxes([("web", "webchat")])
    now = desk.clock()
    assert await read_queues(db, now) == Queues(0, 0.0, 0, 0)
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))
    anna = await make_agent(db, "anna")
    await desk.reply(got.ticket_number, anna, "Hi")
    await desk.reply(got.ticket_number, anna, "Still there?")
    ticket = await desk.facts(1)
    assert ticket is not None
    closed = Event(TICKET_CLOSED, now, ticket_id=ticket["ticket"]["id"])
    async with db.transaction() as s:
        await delays.schedule(s, "soon", closed, now + timedelta(minutes=1), [TICKET_REOPENED])
        await delays.schedule(s, "later", closed, now + timedelta(hours=2), [TICKET_REOPENED])
    queues = await read_queues(db, now + timedelta(minutes=5))
    assert (queues.outbox_depth, queues.runs_pending, queues.runs_overdue) == (2, 2, 1)
    assert queues.outbox_oldest_age == pytest.approx(300, abs=5)


async def test_delivery_failures_are_counted_per_channel_retry_and_final(desk: Desk, db: Database):
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))
    anna = await make_agent(db, "anna")
    await desk.reply(got.ticket_number, anna, "Hi")
    channel = FakeChannel(DeliveryError("timed out"), DeliveryError("blocked", permanent=True))
    clock = Clock(desk.clock())
    retry_policy = RetryPolicy(first_retry=timedelta(seconds=1))
    sender = Sender(db, {"web": channel}, LocalBus(), retry_policy, clock=clock)
    retry = value("otklik_delivery_failures_total", channel="webchat", final="false")
    final = value("otklik_delivery_failures_total", channel="webchat", final="true")
    sent = value("otklik_outbound_sent_total", channel="webchat")
    await sender.drain()
    clock.now += timedelta(seconds=2)
    await sender.drain()  # the retry meets the permanent refusal
    await desk.reply(got.ticket_number, anna, "Hello again")
    await sender.drain()
    assert value("otklik_delivery_failures_total", channel="webchat", final="false") == retry + 1
    assert value("otklik_delivery_failures_total", channel="webchat", final="true") == final + 1
    assert value("otklik_outbound_sent_total", channel="webchat") == sent + 1


async def test_rule_action_errors_are_counted_by_rule(r: Rig):
    r.write(
        '[[rule]]\nid = "survey-everyone"\non = "message.received"\n'
        'then = [{ action = "request_survey", survey = "gone" },'
        ' { action = "note", text = "asked" }]\n'
    )
    before = value("otklik_rule_action_errors_total", rule="survey-everyone")
    number = await r.say("Help")
    assert await r.texts(number, internal=True) == ["asked"]  # the next action still ran
    assert value("otklik_rule_action_errors_total", rule="survey-everyone") == before + 1


async def test_lateness_is_observed_when_a_run_fires(r: Rig):
    r.write(
        '[[rule]]\nid = "follow-up"\non = "message.received"\ndelay = "1h"\n'
        'then = [{ action = "note", text = "following up" }]\n'
        '[[rule]]\nid = "ack"\non = "message.received"\n'
        'then = [{ action = "note", text = "got it" }]\n'
    )
    count = "otklik_rule_run_lateness_seconds_count"
    total = "otklik_rule_run_lateness_seconds_sum"
    delayed = (value(count, kind="delayed"), value(total, kind="delayed"))
    immediate = value(count, kind="immediate")
    number = await r.say("Help")
    assert value(count, kind="immediate") == immediate + 1
    assert value(count, kind="delayed") == delayed[0]  # not due yet
    r.clock.advance(hours=1, seconds=42)
    await r.engine.fire_due()
    assert await r.texts(number, internal=True) == ["got it", "following up"]
    assert value(count, kind="delayed") == delayed[0] + 1
    assert value(total, kind="delayed") == pytest.approx(delayed[1] + 42)
    le_60 = value("otklik_rule_run_lateness_seconds_bucket", kind="delayed", le="60.0")
    le_30 = value("otklik_rule_run_lateness_seconds_bucket", kind="delayed", le="30.0")
    assert le_60 - le_30 >= 1


def breach(name: str, ticket_id: int) -> Event:
    return Event(name, utcnow(), ticket_id=ticket_id)


async def test_sla_breaches_are_counted_by_target_from_the_bus(service: Running):
    key = "otklik_sla_breaches_total"
    reaction, resolution = value(key, target="reaction"), value(key, target="resolution")
    bus = service.state.bus
    await bus.publish([breach(SLA_REACTION_BREACHED, 1)])
    await bus.publish([breach(SLA_RESOLUTION_BREACHED, 1), breach(SLA_REACTION_BREACHED, 2)])
    await bus.publish([breach(SLA_REACTION_WARNING, 1), breach(TICKET_CLOSED, 1)])
    assert isinstance(bus, LocalBus)
    await bus.idle()  # the breaches are counted by a group of the bus, after the publish
    assert value(key, target="reaction") == reaction + 2
    assert value(key, target="resolution") == resolution + 1
    samples = (await scrape(service))[1]
    assert samples[f'{key}{{target="reaction"}}'] == reaction + 2


async def test_a_bus_counts_only_while_its_app_runs(
    db: Database, database_url: str, tmp_path: Path
):
    async with running(service_config(database_url, tmp_path)) as svc:
        bus = svc.state.bus
    before = value("otklik_sla_breaches_total", target="reaction")
    await bus.publish([breach(SLA_REACTION_BREACHED, 1)])
    assert value("otklik_sla_breaches_total", target="reaction") == before


async def test_a_breach_the_engine_fires_is_counted(db: Database, tmp_path: Path):
    async with sla_rig(db, tmp_path, policy()) as s:
        s.desk.bus.subscribe(metrics.count_sla_breach, metrics.SLA_BREACH_EVENTS)
        before = value("otklik_sla_breaches_total", target="reaction")
        await s.say("hello")  # the reaction is due at 11:00 (tests/sla_rig.py)
        s.clock.now = at(23, 11)
        await s.engine.fire_due()
        await s.engine.fire_due()
        assert value("otklik_sla_breaches_total", target="reaction") == before + 1
