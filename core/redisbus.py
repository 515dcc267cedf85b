"""The event bus over Redis, for several processes (see ``core.bus`` for the two kinds of
subscriber and ``tell``).

Events go to one Redis stream (``XADD``, trimmed to about ``keep`` entries). Every process reads
the stream from where it joined and hands each event to its plain subscribers; the groups are
consumer groups of the stream, read by the leader only (``consume``), each event acknowledged
once its group's handlers returned. An event whose handler failed stays pending and is tried
again (``attempts`` times in all, then given up with an error in the log); one left pending by a
process that died is claimed after ``orphaned_after`` by whoever consumes the group. A handled
event is marked done (for a day) in the same Redis transaction that acknowledges it, and a
group does not handle a marked event again (a publish whose answer was lost is sent again, so
the stream may hold an event twice): an event's handler runs twice only if its process died
between the handler's end and that transaction, or took longer than ``orphaned_after``.

Redis going away loses nothing the database holds (tickets, messages and rule runs are
written there first): events published meanwhile wait in memory (``backlog`` at most) and go
out when Redis answers again; readers resume where they stopped. ``tell`` notices are Redis
pub/sub messages: best effort, and this process's own listeners are called directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError, ResponseError

from core.bus import Handler, Listener, Topics, _Subscriber, deliver
from core.events import Event
from core.stopping import unless_stopped

log = logging.getLogger("otklik.bus")
STREAM = "otklik:events"
T = TypeVar("T")
_FIELD = b"event"
_BATCH = 200
_BLOCK_MS = 1000
_HEAR_SECONDS = 1.0  # the notices' loops look up this often, if only to see they must stop
_CLOSE_SECONDS = 2.0  # a stop waits this long at most for the notices' connection to close
_RETRY_AT_MOST = 10.0  # seconds between tries while Redis is away
_DONE_KEPT = 24 * 3600  # seconds a handled event of a group stays marked


def consumer_name() -> str:
    """This process among the group's consumers: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def encode(event: Event) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "name": event.name,
            "at": event.occurred_at.isoformat(),
            "ticket": event.ticket_id,
            "data": event.data,
            "depth": event.depth,
        },
        default=str,
    ).encode()


def decode(raw: bytes) -> Event:
    fields = json.loads(raw)
    return Event(
        fields["name"],
        datetime.fromisoformat(fields["at"]),
        ticket_id=fields["ticket"],
        data=fields["data"],
        depth=fields["depth"],
        id=fields["id"],
    )


class RedisBus:
    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = STREAM,
        keep: int = 100_000,
        backlog: int = 100_000,
        attempts: int = 5,
        orphaned_after: float = 30.0,
        consumer: str | None = None,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._told = f"{stream}:told"
        self._keep = keep
        self._attempts = attempts
        self._orphaned_ms = int(orphaned_after * 1000)
        self.consumer = consumer or consumer_name()
        self._subscribers: list[_Subscriber] = []
        self._groups: dict[str, list[_Subscriber]] = {}
        self._topics = Topics()
        self._outgoing: deque[bytes] = deque(maxlen=backlog)
        self._sending = asyncio.Lock()
        self._away = False  # the last send failed: publish only queues until a retry succeeds
        self._told_out: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)
        self._failures: dict[bytes, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    # -- publishing ------------------------------------------------------------------------

    def subscribe(
        self, handler: Handler, names: Iterable[str] | None = None, *, group: str | None = None
    ) -> Callable[[], None]:
        subscriber = _Subscriber(handler, names)
        members = self._subscribers if group is None else self._groups.setdefault(group, [])
        members.append(subscriber)
        return lambda: members.remove(subscriber)

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        if len(self._outgoing) + len(events) > (self._outgoing.maxlen or 0):
            log.error("Redis has been away too long: the oldest unsent events are dropped")
        self._outgoing.extend(encode(event) for event in events)
        if not self._away:
            await self._send()

    async def _send(self) -> bool:
        """Send what waits, in order; False (and remembered) if Redis is away."""
        async with self._sending:
            while self._outgoing:
                chunk = list(self._outgoing)[:_BATCH]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for raw in chunk:
                            pipe.xadd(self._stream, {_FIELD: raw}, maxlen=self._keep)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    if not self._away:
                        log.warning("Redis is away (%s): events wait in memory", exc)
                    self._away = True
                    return False
                for _ in chunk:
                    self._outgoing.popleft()
            if self._away:
                log.info("Redis is back: the events that waited are sent")
            self._away = False
            return True

    def listen(self, topic: str, listener: Listener) -> Callable[[], None]:
        return self._topics.listen(topic, listener)

    def tell(self, topic: str, payload: dict[str, Any]) -> None:
        self._topics.dispatch(topic, payload)
        message = json.dumps({"from": self.consumer, "topic": topic, "payload": payload})
        try:
            self._told_out.put_nowait(message.encode())
        except asyncio.QueueFull:
            log.debug("notice on %s dropped: too many waiting", topic)

    # -- the loops -------------------------------------------------------------------------

    async def run(self) -> None:
        """Retry sending while Redis is away; read the stream for the plain subscribers; send
        and receive ``tell`` notices. Until cancelled."""
        await self._ensure_groups()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._resend(), name="otklik-bus-resend")
            tasks.create_task(self._read(), name="otklik-bus-read")
            tasks.create_task(self._tell_out(), name="otklik-bus-tell")
            tasks.create_task(self._hear(), name="otklik-bus-hear")

    async def consume(self) -> None:
        """Work the groups (the leader does this) until cancelled."""
        await self._ensure_groups()
        async with asyncio.TaskGroup() as tasks:
            for name, members in self._groups.items():
                tasks.create_task(self._consume(name, members), name=f"otklik-bus-{name}")

    async def _ensure_groups(self) -> None:
        """Create the consumer groups this process knows, starting at the stream's end: a
        group reads what is published from its creation on."""
        for name in self._groups:
            await _forever(f"creating group {name}", lambda n=name: self._create_group(n))

    async def _create_group(self, name: str) -> None:
        try:
            await self._redis.xgroup_create(self._stream, name, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _resend(self) -> None:
        pause = 0.5
        while True:
            unless_stopped()
            await asyncio.sleep(pause)
            if self._outgoing and self._away:
                pause = 0.5 if await self._send() else min(pause * 2, _RETRY_AT_MOST)

    async def _read(self) -> None:
        last = await _forever("finding the stream's end", self._end)
        pause = 0.5
        while True:
            unless_stopped()
            try:
                answer = await self._redis.xread(
                    {self._stream: last}, count=_BATCH, block=_BLOCK_MS
                )
            except (RedisError, OSError) as exc:
                unless_stopped()
                log.warning("reading events from Redis failed (%s); trying again", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_AT_MOST)
                continue
            pause = 0.5
            for _stream, entries in answer:
                for entry_id, fields in entries:
                    last = entry_id
                    event = decode(fields[_FIELD])
                    for subscriber in list(self._subscribers):
                        await deliver(subscriber, event)

    async def _end(self) -> bytes:
        newest = await self._redis.xrevrange(self._stream, count=1)
        return newest[0][0] if newest else b"0-0"

    async def _consume(self, group: str, members: list[_Subscriber]) -> None:
        pause = 0.5
        while True:
            unless_stopped()
            try:
                await self._claim_orphans(group)
                # First our own pending entries (failed before, or claimed), then new ones.
                for start in ("0", ">"):
                    answer = await self._redis.xreadgroup(
                        group,
                        self.consumer,
                        {self._stream: start},
                        count=_BATCH,
                        block=_BLOCK_MS if start == ">" else None,
                    )
                    for _stream, entries in answer:
                        await self._handle(group, members, entries)
            except (RedisError, OSError) as exc:
                unless_stopped()
                log.warning("group %s: Redis failed (%s); trying again", group, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_AT_MOST)
                continue
            pause = 0.5

    async def _claim_orphans(self, group: str) -> None:
        await self._redis.xautoclaim(
            self._stream, group, self.consumer, min_idle_time=self._orphaned_ms, count=_BATCH
        )

    async def _handle(
        self, group: str, members: list[_Subscriber], entries: list[tuple[bytes, Any]]
    ) -> None:
        for entry_id, fields in entries:
            if not fields:  # trimmed from the stream while pending: nothing left to handle
                await self._redis.xack(self._stream, group, entry_id)
                continue
            event = decode(fields[_FIELD])
            done = f"{self._stream}:done:{group}:{event.id}"
            if await self._redis.exists(done):  # in the stream twice, or handled by a rival
                await self._redis.xack(self._stream, group, entry_id)
                continue
            results = [await deliver(member, event) for member in list(members)]
            if all(results):
                self._failures.pop(entry_id, None)
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.set(done, 1, ex=_DONE_KEPT)
                    pipe.xack(self._stream, group, entry_id)
                    await pipe.execute()
                continue
            tries = self._failures.get(entry_id, 0) + 1
            if tries >= self._attempts:
                log.error(
                    "group %s gave up %s of ticket %s after %d tries",
                    group,
                    event.name,
                    event.ticket_id,
                    tries,
                )
                self._failures.pop(entry_id, None)
                await self._redis.xack(self._stream, group, entry_id)
            else:
                self._failures[entry_id] = tries
                await asyncio.sleep(min(2.0**tries / 4, _RETRY_AT_MOST))

    async def _tell_out(self) -> None:
        while True:
            unless_stopped()
            try:  # not an endless wait: a stop whose cancellation was swallowed is seen
                async with asyncio.timeout(_HEAR_SECONDS):
                    message = await self._told_out.get()
            except TimeoutError:
                continue
            try:
                await self._redis.publish(self._told, message)
            except (RedisError, OSError) as exc:
                unless_stopped()
                log.debug("a notice was not sent: %s", exc)

    async def _hear(self) -> None:
        """Receive the notices, each second asking for what came (not ``listen()``, which
        blocks on the socket until a message comes, even once a swallowed cancellation asked
        it to stop)."""
        pause = 0.5
        while True:
            unless_stopped()
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._told)
                pause = 0.5
                while True:
                    unless_stopped()
                    message = await pubsub.get_message(timeout=_HEAR_SECONDS)
                    if message is not None:
                        self._heard(message["data"])
            except (RedisError, OSError) as exc:
                unless_stopped()
                log.warning("listening for notices failed (%s); trying again", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_AT_MOST)
            finally:
                await self._close(pubsub)

    async def _close(self, pubsub: PubSub) -> None:
        """Close a subscription, waiting at most ``_CLOSE_SECONDS``: ``PubSub.aclose()``
        cannot be cancelled and can wait for ever on its socket once its task was cancelled
        (redis-py issue #3941), so it runs as a task of its own that a stop does not wait
        for."""
        closing = asyncio.create_task(_closed(pubsub), name="otklik-bus-close")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        await asyncio.wait([closing], timeout=_CLOSE_SECONDS)

    def _heard(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            if message["from"] == self.consumer:
                return  # this process's own: its listeners were called at once
            self._topics.dispatch(message["topic"], message["payload"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("an unreadable notice was ignored: %s", exc)


async def _closed(pubsub: PubSub) -> None:
    """Drop the subscription's socket without waiting on it, then hand its connection back."""
    with contextlib.suppress(Exception):
        if pubsub.connection is not None:
            await pubsub.connection.disconnect(nowait=True)
        await pubsub.aclose()


async def _forever(what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` until it succeeds, backing off while Redis fails."""
    pause = 0.5
    while True:
        unless_stopped()
        try:
            return await attempt()
        except (RedisError, OSError) as exc:
            unless_stopped()
            log.warning("%s failed (%s); trying again", what, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_AT_MOST)
