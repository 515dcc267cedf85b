"""The event bus: the core publishes after commit; subscribers (rules, live views) listen.

Two kinds of subscriber:

- a plain one gets every event in every process that subscribed (the agents' live view in each
  web process);
- a member of a ``group`` shares the events with the group's members in all processes: each
  event is handled by one of them, in the order published, away from the publisher (a slow
  handler never holds up a commit). With Redis (``core.redisbus``) a group is a consumer group
  of the event stream, read by the leader: an event is acknowledged once its handler returned,
  so one whose handler failed, or whose process died first, is delivered again.

Besides events, ``tell`` sends a small best-effort notice to every process's listeners of a
topic: "runs are due", "a web chat message went out". Losing one costs only speed: whoever
waits for it also polls.

The in-process bus here calls plain handlers one after another at publish; a failing handler
is logged and the others still run. Its groups are queues worked by ``run()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from core.events import Event

Handler = Callable[[Event], Awaitable[None]]
Listener = Callable[[dict[str, Any]], Awaitable[None]]
log = logging.getLogger("otklik.bus")


class EventBus(Protocol):
    def subscribe(
        self, handler: Handler, names: Iterable[str] | None = None, *, group: str | None = None
    ) -> Callable[[], None]:
        """Call ``handler`` for events named in ``names`` (all when None), as a member of
        ``group`` when given (see the module's docstring); returns unsubscribe."""
        ...

    async def publish(self, events: Sequence[Event]) -> None: ...

    def listen(self, topic: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the payload of every ``tell`` on ``topic``."""
        ...

    def tell(self, topic: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` (JSON-able) to every process's listeners of ``topic``; returns at
        once, delivery is best effort."""
        ...

    async def run(self) -> None:
        """Deliver what needs a loop (groups, remote events) until cancelled."""
        ...


class _Subscriber:
    def __init__(self, handler: Handler, names: Iterable[str] | None) -> None:
        self.handler = handler
        self.names = frozenset(names) if names is not None else None

    def wants(self, event: Event) -> bool:
        return self.names is None or event.name in self.names


async def deliver(subscriber: _Subscriber, event: Event) -> bool:
    """Hand ``event`` to ``subscriber`` if it wants it; False if its handler failed (logged)."""
    if not subscriber.wants(event):
        return True
    try:
        await subscriber.handler(event)
    except Exception:
        log.exception(
            "handler %r failed on %s ticket=%s", subscriber.handler, event.name, event.ticket_id
        )
        return False
    return True


class Topics:
    """The listeners of ``tell`` topics in this process."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def listen(self, topic: str, listener: Listener) -> Callable[[], None]:
        self._listeners.setdefault(topic, []).append(listener)
        return lambda: self._listeners[topic].remove(listener)

    def dispatch(self, topic: str, payload: dict[str, Any]) -> None:
        """Start each listener of ``topic`` on ``payload`` (a failure is logged)."""
        for listener in list(self._listeners.get(topic, ())):
            task = asyncio.get_running_loop().create_task(self._call(listener, topic, payload))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Wait until every started listener has returned."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    @staticmethod
    async def _call(listener: Listener, topic: str, payload: dict[str, Any]) -> None:
        try:
            await listener(payload)
        except Exception:
            log.exception("listener %r of %s failed", listener, topic)


class _Group:
    def __init__(self) -> None:
        self.members: list[_Subscriber] = []
        self.queue: asyncio.Queue[Event] = asyncio.Queue()


class LocalBus:
    """One process: plain handlers run at publish, groups from queues while ``run()`` runs."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._groups: dict[str, _Group] = {}
        self._topics = Topics()

    def subscribe(
        self, handler: Handler, names: Iterable[str] | None = None, *, group: str | None = None
    ) -> Callable[[], None]:
        subscriber = _Subscriber(handler, names)
        members = self._subscribers if group is None else self._group(group).members
        members.append(subscriber)
        return lambda: members.remove(subscriber)

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            for subscriber in list(self._subscribers):
                await deliver(subscriber, event)
            for group in self._groups.values():
                if any(member.wants(event) for member in group.members):
                    group.queue.put_nowait(event)

    def listen(self, topic: str, listener: Listener) -> Callable[[], None]:
        return self._topics.listen(topic, listener)

    def tell(self, topic: str, payload: dict[str, Any]) -> None:
        self._topics.dispatch(topic, payload)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for name, group in self._groups.items():
                tasks.create_task(_work(group), name=f"otklik-bus-{name}")

    async def idle(self) -> None:
        """Wait until every group has handled what was published and every ``tell`` listener
        has returned (tests; a clean stop)."""
        for group in self._groups.values():
            await group.queue.join()
        await self._topics.settled()

    def _group(self, name: str) -> _Group:
        return self._groups.setdefault(name, _Group())


async def _work(group: _Group) -> None:
    while True:
        event = await group.queue.get()
        try:
            for member in list(group.members):
                await deliver(member, event)
        finally:
            group.queue.task_done()
