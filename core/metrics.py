"""The process's metrics: what the core counts where things happen, for /metrics.

Counters and histograms live in one registry of this process (``REGISTRY``, not
prometheus_client's global one, so nothing a library registers there shows up unasked);
web/metrics.py serves it with gauges read from the database at scrape time. The core only
calls these objects: a hook is one line where the thing happens, after it is committed.
"""

from __future__ import annotations

import time

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
)

from core.events import Event

REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

INBOUND = Counter(
    "otklik_inbound_messages",
    "Customer messages stored (replays of a stored message are not counted), by channel",
    ["channel"],
    registry=REGISTRY,
)
SENT = Counter(
    "otklik_outbound_sent",
    "Outgoing messages a channel accepted, by channel",
    ["channel"],
    registry=REGISTRY,
)
DELIVERY_FAILURES = Counter(
    "otklik_delivery_failures",
    'Failed delivery attempts, by channel; final="true": the message failed for good',
    ["channel", "final"],
    registry=REGISTRY,
)
RULE_ACTION_ERRORS = Counter(
    "otklik_rule_action_errors",
    "Rule actions that failed, by rule id",
    ["rule"],
    registry=REGISTRY,
)
RUN_LATENESS = Histogram(
    "otklik_rule_run_lateness_seconds",
    'How long after its due time a rule run fired; kind="delayed" for rules with a delay',
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
SLA_BREACHES = Counter(
    "otklik_sla_breaches",
    "SLA deadlines breached, by target (reaction, resolution)",
    ["target"],
    registry=REGISTRY,
)

# The SLA events by name, so the counter works whether or not the bus knows them yet.
SLA_BREACH_EVENTS = {
    "sla.reaction_breached": "reaction",
    "sla.resolution_breached": "resolution",
}


async def count_sla_breach(event: Event) -> None:
    """A bus handler for ``SLA_BREACH_EVENTS``."""
    SLA_BREACHES.labels(SLA_BREACH_EVENTS[event.name]).inc()


class Heartbeat:
    """When a loop last went round, for /healthz: none before it starts or after it ends."""

    def __init__(self) -> None:
        self._at: float | None = None

    def beat(self) -> None:
        self._at = time.monotonic()

    def stopped(self) -> None:
        self._at = None

    def age(self) -> float | None:
        """Seconds since the last round; None when the loop is not running."""
        return None if self._at is None else time.monotonic() - self._at


SCHEDULER = Heartbeat()  # the rules runner's loop (core/engine/runner.py)
