"""The runner: claims rule runs when they fall due and fires each once.

Runs of one ticket fire one after another, in the order they fell due (an acknowledgement
before the answer to the first message), even across processes: ``delays.claim`` hands out a
ticket's next run only once the one before is done. Different tickets' runs fire together:
up to ``group`` of them in one transaction (their tickets locked and read in one query, the
runs ended in one UPDATE, one commit), ``parallel`` such transactions at once. A group that
fails is fired again run by run, so a run that fails does so alone. The runner polls the
table (``poll`` seconds) and is woken at once when a commit wrote a run that is due now, so
immediate rules answer in milliseconds and delayed ones within about a second of their time,
whoever scheduled them. Claims are leased and renewed while held; stopping lets the runs
already started finish (briefly) and hands the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from core import delays, metrics
from core.clock import utcnow
from core.db import transient
from core.desk import Desk, Undone, Unit
from core.engine import changes
from core.engine.live import LiveRules
from core.engine.perform import Later, Performer, Run
from core.engine.schedule import NOW
from core.logctx import bound
from core.rules import Rule
from core.sla import escalations, timers
from core.sla.policy import NO_SLA, SlaPolicy
from core.stopping import unless_stopped

log = logging.getLogger("otklik.rules")
_STATS_EVERY = timedelta(seconds=1)  # how often "last fired" on the rules page catches up
KEEP = timedelta(days=7)  # ended runs are kept this long (to look into), then deleted
_PURGE_EVERY = timedelta(hours=1)
_RETRY_AT_MOST = 30.0  # seconds between claims while the database keeps failing


class Engine:
    def __init__(
        self,
        desk: Desk,
        rules: LiveRules,
        performer: Performer,
        *,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(seconds=60),
        poll: float = 0.5,
        batch: int = 1000,
        parallel: int = 8,
        group: int = 100,
        sla: SlaPolicy = NO_SLA,
    ) -> None:
        """``batch``: how many runs are held at most; ``group``: how many fire in one
        transaction; ``parallel``: how many such transactions at once; ``sla``: the calendars
        for ``within_working_hours`` and the SLA timers' arithmetic."""
        self._desk = desk
        self._db = desk.db
        self._rules = rules
        self._performer = performer
        self._clock = clock
        self._lease = lease
        self._poll = poll
        self._batch = batch
        self._parallel = asyncio.Semaphore(parallel)
        self._group = group
        self._wakeup = asyncio.Event()
        self._workers: set[asyncio.Task[None]] = set()
        self._started: set[int] = set()
        self._held: set[int] = set()
        self._fired: dict[str, tuple[int, datetime]] = {}
        self._flushed = clock()
        self._stopping = False
        self._sla = sla
        self.name = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def wake(self) -> None:
        """A run due now was committed: claim without waiting for the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        """Claim and fire runs until cancelled; then stop gracefully (see ``stop``). A failing
        database does not end the loop: claims are tried again, backing off up to 30 s."""
        renewer = asyncio.create_task(self._upkeep(), name="otklik-rules-upkeep")
        retry = self._poll
        try:
            while True:
                unless_stopped()
                metrics.SCHEDULER.beat()
                try:
                    claimed = await self._claim()
                    if self._clock() - self._flushed > _STATS_EVERY:
                        await self._flush_stats()
                except Exception:  # the database, most likely: its claim rolled back
                    unless_stopped()
                    log.exception("claiming rule runs failed; trying again in %.1f s", retry)
                    await asyncio.sleep(retry)
                    retry = min(retry * 2, _RETRY_AT_MOST)
                    continue
                retry = self._poll
                if claimed < self._batch:
                    await self._pause()
        finally:
            metrics.SCHEDULER.stopped()
            renewer.cancel()
            await asyncio.shield(self.stop())

    async def fire_due(self) -> int:
        """Claim and fire every run due now, waiting until they are done; how many fired.
        (The service's loop does this continuously; tests and benchmarks call it.) A claim
        that comes back empty is tried once more: a rival may have just taken the same runs."""
        total, empty = 0, 0
        while empty < 2:
            claimed = await self._claim()
            total += claimed
            empty = 0 if claimed else empty + 1
            await self.idle()
            if not claimed:
                await asyncio.sleep(0.01)
        return total

    async def idle(self) -> None:
        """Wait until every claimed run has fired."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)
        await self._flush_stats()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop firing: runs not started go back to pending for any runner to take; started
        ones get ``grace`` seconds to finish, then are cancelled (their transaction rolls back)
        and go back too. A run whose commit got through stays done: release touches only
        runs still claimed."""
        self._stopping = True
        waiting = list(self._held - self._started)
        if waiting:
            await delays.release(self._db, waiting, self.name)
            self._held.difference_update(waiting)
        workers = list(self._workers)
        if workers:
            _, late = await asyncio.wait(workers, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                log.warning("%d rule run(s) cut short at stop; they will run again", len(late))
        if self._held:
            await delays.release(self._db, list(self._held), self.name)
            self._held.clear()
        with contextlib.suppress(Exception):
            await self._flush_stats()
        await self._performer.close()

    async def _claim(self) -> int:
        if self._stopping:
            return 0
        room = self._batch - len(self._held)
        if room <= 0:
            return 0
        claiming = asyncio.ensure_future(
            delays.claim(self._db, self._clock(), self._lease, self.name, limit=room)
        )
        try:
            due = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            # Stopped mid-claim: the rows may be claimed already. Learn which, so that stop()
            # hands them back instead of leaving them to their lease.
            self._held.update(run.id for run in await claiming)
            raise
        for group in self._groups(due):
            self._held.update(run.id for run in group)
            worker = asyncio.create_task(self._work(group))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return len(due)

    def _groups(self, due: list[delays.Due]) -> Iterator[list[delays.Due]]:
        """The claimed runs (at most one per ticket: its next one is claimable once it is
        done) in groups of up to ``group`` runs of one depth, in due order."""
        for _, same in itertools.groupby(sorted(due, key=_depth), key=_depth):
            runs = list(same)
            for start in range(0, len(runs), self._group):
                yield runs[start : start + self._group]

    async def _pause(self) -> None:
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll):
                await self._wakeup.wait()

    async def _work(self, group: Sequence[delays.Due]) -> None:
        ids = [due.id for due in group]
        later: list[Later] = []
        try:
            async with self._parallel:
                if self._stopping:
                    return  # handed back by stop()
                self._started.update(ids)
                try:
                    if not await self._fire(group, later):
                        for due in group:  # one by one: a run that fails, fails alone
                            await self._fire([due], later)
                except Exception:  # an outcome could not be written: the database is away
                    log.exception("rule runs %s: taken again once their leases end", ids)
                self._held.difference_update(ids)
        finally:
            self._started.difference_update(ids)
            if len(self._held) < self._batch // 2:
                self._wakeup.set()  # room again, and the tickets' next runs may be claimed
        await self._performer.after_commit(later)  # a slow webhook holds no transaction slot

    async def _fire(self, group: Sequence[delays.Due], later: list[Later]) -> bool:
        """Fire the runs of different tickets in one transaction: their changes and their ends
        commit together, so a run that did its work is never claimed again, and one that did
        not is claimed again whole; what must wait for the commit is added to ``later`` then.
        A group of several has no savepoints: any action failing undoes it all, and False
        says so (each run is then fired alone). A single run's actions have a savepoint each
        (a failing one is logged and undone alone); a single run that fails is marked
        failed, one that another runner took over (its lease ran out) is left to it, and one
        that met a deadlock or a lost connection goes back to be claimed again."""
        calls: list[Later] = []
        fired: list[Rule] = []
        ended: dict[str, list[int]] = defaultdict(list)
        try:
            together = self._desk.together(group[0].depth + 1, savepoints=len(group) == 1)
            async with together as unit:
                await unit.lock({due.ticket_id for due in group if due.ticket_id is not None})
                for due in group:
                    with _about(due):
                        state = await self._execute(due, unit, calls, fired)
                    ended[state].append(due.id)
                    # A run whose actions are batched waits for nothing: without this, a
                    # group of them would hold the event loop for all its runs at once.
                    await asyncio.sleep(0)
                for state, ids in ended.items():
                    await delays.mark(unit.session, ids, state, unit.now, self.name)
        except (Exception, Undone) as exc:
            if len(group) > 1:
                log.info("%d rule runs failed together (%s); firing each alone", len(group), exc)
                return False
            due = group[0]
            if isinstance(exc, delays.TakenOver):  # its lease ran out first: all it did is undone
                log.warning("%s; what it did here was undone", exc)
            elif transient(exc):
                log.warning("rule run %s is tried again: %s", due.id, type(exc).__name__)
                await delays.release(self._db, [due.id], self.name)
            else:
                with _about(due):
                    log.exception(
                        "rule run %s (%s on %s) failed", due.id, due.rule_id, due.event_name
                    )
                await delays.finish(self._db, [due.id], delays.FAILED, self._clock(), self.name)
            return True
        self._fired_now(group, fired)
        later.extend(calls)
        return True

    async def _execute(
        self, due: delays.Due, unit: Unit, later: list[Later], fired: list[Rule]
    ) -> str:
        if due.rule_id == timers.HANDLER:
            args = (self._sla, due.ticket_id, due.event_name, due.event_data)
            done = await unit.do(escalations.fire, *args)
            return delays.DONE if done else delays.SKIPPED
        rules = self._rules.current
        moment = self._sla.at(unit.now)
        if due.rule_id == NOW:
            data = due.event_data
            chosen = [
                r
                for r in rules.for_event(due.event_name)
                if r.delay is None and r.matches(data, moment)
            ]
        else:
            rule = rules.get(due.rule_id)
            if rule is None or not rule.enabled:
                log.info(
                    'delayed run %s skipped: rule "%s" is gone or disabled', due.id, due.rule_id
                )
                return delays.SKIPPED
            data = await self._now(due, unit)
            if data is None or not rule.matches(data, moment):
                log.info('delayed run %s skipped: rule "%s" no longer matches', due.id, rule.id)
                return delays.SKIPPED
            chosen = [rule]
        if not chosen:
            return delays.SKIPPED
        for rule in chosen:
            fired.append(rule)
            run = Run(rule, due.event_name, data, due.ticket_id, f"{due.id}:{rule.id}")
            if await self._performer.perform(run, unit, later):
                break
        return delays.DONE

    async def _now(self, due: delays.Due, unit: Unit) -> dict[str, Any] | None:
        """The event's data with the ticket, customer and inbox as they are now."""
        if due.ticket_id is None:
            return due.event_data
        facts = await unit.facts(due.ticket_id)
        return None if facts is None else {**due.event_data, **facts}

    def _fired_now(self, group: Sequence[delays.Due], fired: Sequence[Rule]) -> None:
        """After the commit: how late the runs came, and which rules fired (stats)."""
        now = self._clock()
        for due in group:
            kind = "immediate" if due.rule_id == NOW else "delayed"
            metrics.RUN_LATENESS.labels(kind).observe(max((now - due.due_at).total_seconds(), 0))
        for rule in fired:
            count, _ = self._fired.get(rule.id, (0, None))
            self._fired[rule.id] = (count + 1, now)

    async def _flush_stats(self) -> None:
        self._flushed = self._clock()
        if self._fired:
            counts, self._fired = self._fired, {}
            try:
                async with self._desk.together(depth=0) as unit:
                    await unit.do(changes.fired, counts)
            except Exception:  # kept for the next flush, with what fired meanwhile
                for rule_id, (count, at) in counts.items():
                    since, last = self._fired.get(rule_id, (0, at))
                    self._fired[rule_id] = (count + since, max(at, last))
                raise

    async def _upkeep(self) -> None:
        """Renew the leases of held runs; now and then delete long-ended runs."""
        purged_at: datetime | None = None
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                if self._held:
                    until = self._clock() + self._lease
                    await delays.renew(self._db, list(self._held), until, self.name)
                now = self._clock()
                if purged_at is None or now - purged_at > _PURGE_EVERY:
                    purged_at = now
                    if gone := await delays.purge(self._db, now - KEEP):
                        log.info("deleted %d rule run(s) that ended before %s", gone, now - KEEP)
            except Exception:
                log.exception("rule runs upkeep failed; trying again")


def _depth(due: delays.Due) -> int:
    return due.depth


def _about(due: delays.Due) -> contextlib.AbstractContextManager[None]:
    """Log lines name the run's ticket."""
    return bound(ticket=due.event_data.get("ticket", {}).get("number"))
