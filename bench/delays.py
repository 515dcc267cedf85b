"""Delayed rule runs: many runs falling due within a minute, fired by the engine on time?

Run from the repository root: ``python bench/delays.py [--runs N] [--tickets T] [--window S]``.

For each backend (as ``bench/inbound.py``: SQLite in a fresh file; PostgreSQL in a fresh
database through ``$OTKLIK_TEST_PG``, skipped when unreachable) the run makes T tickets (1,000
by default, through ``Desk.receive``), writes a rule folder with one delayed rule

    follow-up: on message.received, delay 1m, if ticket.status ne closed,
               then note "follow-up {{ message.text }}"

and then measures two passes over the same database:

steady
    N runs (100,000 by default) of that rule are written straight into ``delayed_runs`` by a
    bulk INSERT (5,000 rows a transaction), in the shape ``core.delays.schedule`` writes them
    (key ``follow-up:<event>``, the event's data with the ticket, customer and inbox snapshot
    and a message whose text names the run), not through N Desk transactions: that would time
    the Desk, not the runner. Runs go to the tickets round-robin, so each ticket has N/T runs
    and the per-ticket lanes matter; their due times are spread uniformly over a window of S
    seconds (60) that opens a few seconds after the insert has ended. Then the engine is
    assembled as ``otklik serve`` does (Desk with the RuleHook, LiveRules, Performer, Engine
    on the real clock) and its ``run()`` loop goes in the background, polling and waking as in
    service, until every run has finished.
restart
    The same again (new runs, new due times), but halfway through the window the engine is
    stopped as ``otklik serve`` stops it (its ``run()`` task cancelled, which awaits
    ``engine.stop()``: started runs finish, unstarted claims are handed back) and a new Engine
    over a new Database handle, Desk and LiveRules takes over: a process restart.

The action is ``note``: a real action through the Desk (ticket row locked, message inserted,
event written and offered to the RuleHook, committed) that is among the cheapest, writes one
row per firing (so effects can be counted, unlike ``tag``, which is a no-op after the first
firing on a ticket) and whose text names its run (so a doubled or lost firing shows).

The figures, per pass:

lateness
    ``finished_at - due_at`` of every run (``finished_at`` is written on the engine's clock,
    the real one, right after the run's actions committed); p50, p99 and max, against the
    target p99 < 2 s.
stall
    A probe task sleeps 10 ms in a loop while the runs fire; how much later than asked it wakes
    is how long the event loop was held by something else. The longest, against the target
    < 100 ms. Not while an engine is being set up (at the start, and the new one at the
    restart: a new process's start-up, before it fires anything); the old engine's stop is
    measured.
runs/s
    Runs fired per second from the first due time until the last run finished (the window
    is S seconds, so N/S is what keeping up takes).
peak RSS
    The process's resident memory high-water mark while the runs fire (reset after the insert
    through ``/proc/self/clear_refs``; elsewhere ``ru_maxrss``, which includes the insert).

Afterwards the database is counted: every run of the pass must be ``done`` and there must be
exactly one note per run (N notes, N distinct texts); otherwise the run fails. A pass that
has not finished ``--patience`` seconds (default 10) after its last due time is stopped and
reported with what did not fire.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from bench.common import BACKENDS, positive
from core import delays, events
from core.bus import LocalBus
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.engine.perform import Performer
from core.engine.runner import Engine
from core.engine.schedule import RuleHook
from core.events import Event
from core.messages import Inbound
from core.models import DelayedRun, Direction, Message, Ticket

INBOX = "web"
RULE_ID = "follow-up"
RULES = f"""
[[rule]]
id = "{RULE_ID}"
on = "message.received"
delay = "1m"
if = {{ field = "ticket.status", ne = "closed" }}
then = [{{ action = "note", text = "follow-up {{{{ message.text }}}}" }}]
"""
NOTE_PREFIX = "follow-up "
INSERT_CHUNK = 5000
LEAD = 3.0  # seconds between the end of the insert and the first due time
PROBE_TICK = 0.010
TARGET_P99 = 2.0  # seconds
TARGET_STALL = 0.100  # seconds


@dataclass(frozen=True)
class Plan:
    runs: int
    tickets: int
    window: float
    patience: float


@dataclass
class Pass:
    name: str
    runs: int
    insert_seconds: float = 0.0
    slack: float = 0.0  # seconds between the insert's end and the first due time
    lateness: list[float] = field(default_factory=list)  # of the runs that fired
    unfired: list[float] = field(default_factory=list)  # deadline - due_at: lateness at least
    stalls: list[float] = field(default_factory=list)
    fire_seconds: float = 0.0  # first due time to last finish
    cpu: float = 0.0  # CPU seconds of this process while firing
    rss_before: int = 0  # bytes
    rss_peak: int = 0  # bytes
    deadline: datetime | None = None  # when the pass was cut off if not finished
    restarted_after: int | None = None  # runs finished when the engine was restarted
    states: dict[str, int] = field(default_factory=dict)
    notes: int = 0
    distinct_notes: int = 0
    problems: list[str] = field(default_factory=list)

    def late(self, p: float) -> tuple[float, bool]:
        """The nearest-rank percentile over all runs, and whether it is only a lower bound:
        when runs had not fired by the cut-off, they count with the time from their due time
        to the cut-off, which they exceed, so every percentile is at least the figure."""
        ordered = sorted([*self.lateness, *self.unfired])
        if not ordered:
            return math.nan, False
        return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)], self.cut_off

    @property
    def worst_stall(self) -> float:
        return max(self.stalls, default=0.0)

    @property
    def rate(self) -> float:
        return len(self.lateness) / self.fire_seconds if self.fire_seconds else math.nan

    @property
    def cut_off(self) -> bool:
        return bool(self.unfired)


# -- setup -------------------------------------------------------------------------------------


async def make_tickets(url: str, count: int) -> list[dict]:
    """``count`` tickets, one customer each, through the Desk with no rules; per ticket, its id
    and the snapshot events carry (ticket, customer, inbox)."""
    db = Database(url)
    try:
        desk = Desk(db, LocalBus())
        await desk.sync_inboxes([(INBOX, "webchat")])
        facts = []
        for n in range(count):
            got = await desk.receive(
                Inbound(inbox=INBOX, external_id=f"visitor-{n}", text=f"Where is order {n}?")
            )
            ticket_id = await _ticket_id(db, got.ticket_number)
            snapshot = await desk.facts(ticket_id)
            assert snapshot is not None
            facts.append({"ticket_id": ticket_id, "snapshot": snapshot})
        return facts
    finally:
        await db.close()


async def _ticket_id(db: Database, number: int) -> int:
    async with db.reading() as s:
        return (await s.scalar(select(Ticket.id).where(Ticket.number == number))) or 0


async def write_runs(url: str, tag: str, tickets: list[dict], plan: Plan) -> tuple[datetime, Pass]:
    """Bulk-insert the pass's runs; returns the first due time (the window's start)."""
    rng = random.Random(tag)
    offsets = sorted(rng.uniform(0, plan.window) for _ in range(plan.runs))
    rng.shuffle(offsets)  # due order independent of insert order and of the ticket
    # Leave room for the insert itself: measured, generously, at ~0.1 ms a row on both backends.
    start = utcnow() + timedelta(seconds=LEAD + plan.runs * 0.0001)
    created = utcnow()
    rows = []
    for seq, offset in enumerate(offsets):
        ticket = tickets[seq % len(tickets)]
        name = f"{tag}-{seq:06d}"
        data = {
            **ticket["snapshot"],
            "message": {
                "id": seq + 1,
                "text": name,
                "direction": "in",
                "internal": False,
                "attachments": [],
                "author_id": None,
                "created_at": created.isoformat(),
            },
        }
        rows.append(
            {
                "key": f"{RULE_ID}:bench-{name}",
                "rule_id": RULE_ID,
                "ticket_id": ticket["ticket_id"],
                "event_name": events.MESSAGE_RECEIVED,
                "event_data": data,
                "cancel_on": [],
                "due_at": start + timedelta(seconds=offset),
                "depth": 0,
                "state": delays.PENDING,
                "created_at": created,
            }
        )
    db = Database(url)
    began = time.perf_counter()
    try:
        for i in range(0, len(rows), INSERT_CHUNK):
            async with db.transaction() as session:
                await session.execute(insert(DelayedRun), rows[i : i + INSERT_CHUNK])
    finally:
        await db.close()
    measured = Pass(tag, plan.runs, insert_seconds=time.perf_counter() - began)
    measured.slack = (start - utcnow()).total_seconds()
    return start, measured


# -- the engine as the service assembles it ----------------------------------------------------


@dataclass
class Service:
    db: Database
    engine: Engine
    task: asyncio.Task[None]

    @classmethod
    async def start(cls, url: str, folder: Path, seen: list[float]) -> Service:
        db = Database(url)
        bus = LocalBus()
        desk = Desk(db, bus)
        await desk.sync_inboxes([(INBOX, "webchat")])
        rules = LiveRules(folder)
        if not await asyncio.to_thread(rules.reload):  # compiling off the loop, as serve does
            raise SystemExit(f"bench rules rejected: {rules.problems}")
        engine = Engine(desk, rules, Performer("en"))
        desk.before_commit(RuleHook(rules, engine.wake))

        async def noted(event: Event) -> None:
            seen.append(time.perf_counter())

        bus.subscribe(noted, [events.NOTE_ADDED])
        return cls(db, engine, asyncio.create_task(engine.run(), name="bench-rules"))

    async def stop(self) -> None:
        """As ``otklik serve`` stops: cancel ``run()``, which awaits ``engine.stop()``."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.db.close()


async def probe(stalls: list[float]) -> None:
    """Sleep 10 ms at a time; record how much later than asked each wake-up came."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(PROBE_TICK)
        stalls.append(loop.time() - asked - PROBE_TICK)


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def fire(url: str, folder: Path, start: datetime, measured: Pass, plan: Plan, restart: bool):
    """Run the engine in the background until every run of the pass finished."""
    seen: list[float] = []
    measured.rss_before = current_rss()
    reset_peak_rss()
    watcher = Database(url)  # connected before the probe starts: its set-up is not the engine's
    await _open_runs(watcher)
    service = await Service.start(url, folder, seen)  # its first connection: before the probe
    gc.freeze()  # as `otklik serve` does once started: what exists now is never scanned again
    cpu = time.process_time()
    probing = asyncio.create_task(probe(measured.stalls))
    try:
        loop = asyncio.get_running_loop()
        t_start = loop.time() + (start - utcnow()).total_seconds()
        restart_at = t_start + plan.window / 2 if restart else None
        deadline = t_start + plan.window + plan.patience
        measured.deadline = start + timedelta(seconds=plan.window + plan.patience)
        while len(seen) < measured.runs:
            await asyncio.sleep(0.25)
            now = loop.time()
            if restart_at is not None and now >= restart_at:
                restart_at = None
                measured.restarted_after = len(seen)
                await service.stop()
                # The new engine's set-up (a new process's start) is not a stall of firing,
                # as the first one's is not: the probe waits until it is up.
                await _cancel(probing)
                service = await Service.start(url, folder, seen)
                probing = asyncio.create_task(probe(measured.stalls))
            if now > deadline:
                break  # cut off: what did not fire is counted below
            if now > t_start + plan.window and len(seen) and await _open_runs(watcher) == 0:
                break  # all finished, some without a note (skipped or failed: counted below)
    finally:
        await service.stop()
        await _cancel(probing)
        await watcher.close()
    measured.cpu = time.process_time() - cpu
    measured.rss_peak = peak_rss()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _open_runs(db: Database) -> int:
    async with db.reading() as s:
        return await s.scalar(
            select(func.count())
            .select_from(DelayedRun)
            .where(DelayedRun.state.in_([delays.PENDING, delays.CLAIMED]))
        )


async def count(url: str, measured: Pass, start: datetime) -> None:
    """Lateness of every run of the pass, its states, and its notes; what went wrong."""
    db = Database(url)
    try:
        async with db.reading() as s:
            runs = await s.execute(
                select(DelayedRun.state, DelayedRun.due_at, DelayedRun.finished_at)
            )
            finished = []
            for state, due_at, finished_at in runs:
                measured.states[state] = measured.states.get(state, 0) + 1
                if state == delays.DONE:
                    measured.lateness.append((finished_at - due_at).total_seconds())
                    finished.append(finished_at)
                elif measured.deadline is not None:
                    measured.unfired.append(max(0.0, (measured.deadline - due_at).total_seconds()))
            noted = (
                Message.internal.is_(True),
                Message.direction == Direction.OUT,
                Message.text.like(f"{NOTE_PREFIX}{measured.name}-%"),
            )
            measured.notes = await s.scalar(select(func.count()).select_from(Message).where(*noted))
            measured.distinct_notes = await s.scalar(
                select(func.count(func.distinct(Message.text))).where(*noted)
            )
    finally:
        await db.close()
    if finished:
        measured.fire_seconds = (max(finished) - start).total_seconds()
    done, pending = measured.states.get(delays.DONE, 0), measured.states.get(delays.PENDING, 0)
    if done + pending != measured.runs or (pending and not measured.cut_off):
        measured.problems.append(f"run states {measured.states}, expected {measured.runs} done")
    if measured.notes != done or measured.distinct_notes != done:
        measured.problems.append(
            f"{measured.notes} notes ({measured.distinct_notes} distinct) for {done} runs done"
        )
    if measured.slack < 0:
        measured.problems.append(
            f"the insert ended {-measured.slack:.1f} s after the first run fell due: "
            "lateness includes insert time"
        )


async def measure(backend: str, tmp: Path, plan: Plan) -> list[Pass]:
    """The two passes, each in a fresh database with its own tickets."""
    folder = tmp / "rules"
    folder.mkdir()
    (folder / "follow-up.toml").write_text(RULES, encoding="utf-8")
    passes = []
    for name, restart in (("steady", False), ("restart", True)):
        (tmp / name).mkdir()
        async with BACKENDS[backend](tmp / name) as url:
            if url is None:
                return []
            tickets = await make_tickets(url, plan.tickets)
            start, measured = await write_runs(url, name, tickets, plan)
            await fire(url, folder, start, measured, plan, restart)
            await count(url, measured, start)
            passes.append(measured)
    return passes


# -- report ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def seconds(figure: tuple[float, bool]) -> str:
    value, bound = figure
    return f"{'≥' if bound else ''}{value:.2f}s"


def report(backend: str, plan: Plan, passes: Sequence[Pass]) -> None:
    print(
        f"{backend}: {plan.runs:,} delayed runs on {plan.tickets:,} tickets, due within "
        f"{plan.window:.0f} s (rows bulk-inserted into delayed_runs, not through the Desk; "
        "action: note)"
    )
    print(
        f"  {'':<9}{'insert s':>9}{'fired':>9}{'runs/s':>8}{'p50 late':>10}{'p99 late':>10}"
        f"{'max late':>10}{'max stall':>11}{'CPU':>6}{'peak RSS':>10}"
    )
    for p in passes:
        cpu = p.cpu / p.fire_seconds if p.fire_seconds else math.nan
        print(
            f"  {p.name:<9}{p.insert_seconds:>9.1f}{len(p.lateness):>9,}{p.rate:>8.0f}"
            f"{seconds(p.late(50)):>10}{seconds(p.late(99)):>10}{seconds(p.late(100)):>10}"
            f"{p.worst_stall * 1000:>8.0f} ms{cpu:>6.0%}{p.rss_peak / 2**20:>7.0f} MB"
        )
    for p in passes:
        (p99, bound), stall = p.late(99), p.worst_stall
        print(
            f"  {p.name}: p99 lateness {'≥ ' if bound else ''}{p99:.2f} s: "
            f"{verdict(p99 < TARGET_P99 and not bound)} the target < {TARGET_P99:.0f} s; "
            f"longest stall {stall * 1000:.0f} ms: {verdict(stall < TARGET_STALL)} the target "
            f"< {TARGET_STALL * 1000:.0f} ms"
        )
        if p.cut_off:
            print(
                f"    cut off {plan.patience:.0f} s after the last due time with "
                f"{len(p.unfired):,} runs not fired (keeping up takes "
                f"{plan.runs / plan.window:.0f} runs/s); their lateness counts as at least "
                "the time from due to cut-off (≥)"
            )
    for p in passes:
        if p.restarted_after is None:
            continue
        once = "no run fired twice or was lost" if not p.problems else "FAILED"
        left = f", {p.states.get(delays.PENDING, 0):,} pending" if p.cut_off else ""
        print(
            f"  restart: engine stopped and replaced after {p.restarted_after:,} runs fired; "
            f"{p.states.get(delays.DONE, 0):,} done{left}, {p.notes:,} notes "
            f"({p.distinct_notes:,} distinct): {once}"
        )
    for p in passes:
        for problem in p.problems:
            print(f"  FAILED {p.name}: {problem}")
    print()


async def main(plan: Plan, backends: Sequence[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="  log %(levelname)s %(name)s: %(message)s")
    print(
        f"Delayed-runs benchmark on {os.cpu_count()} CPUs: the rule engine's run() loop in "
        "the background of this process, on the real clock.\n"
    )

    failed = False
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="otklik-bench-") as tmp:
            passes = await measure(backend, Path(tmp), plan)
        if passes:
            report(backend, plan, passes)
            failed = failed or any(p.problems for p in passes)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=positive, default=100_000, help="default: 100000")
    parser.add_argument("--tickets", type=positive, default=1000, help="default: 1000")
    parser.add_argument("--window", type=positive, default=60, help="seconds; default: 60")
    parser.add_argument("--patience", type=positive, default=10, help="seconds; default: 10")
    parser.add_argument(
        "--backend",
        choices=list(BACKENDS),
        action="append",
        help="only this database (may be given twice); default: each reachable one",
    )
    args = parser.parse_args()
    plan = Plan(args.runs, args.tickets, args.window, args.patience)
    sys.exit(asyncio.run(main(plan, args.backend or list(BACKENDS))))
