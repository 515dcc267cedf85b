"""The event bus over a real Redis: several buses stand for several processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core.clock import utcnow
from core.events import MESSAGE_RECEIVED, TICKET_CLOSED, TICKET_CREATED, Event
from core.redisbus import RedisBus, decode, encode
from tests.redis_server import REDIS_URL, RedisProxy, redis_proxy, redis_url, unique
from tests.waiting import eventually

__all__ = ["redis_proxy", "redis_url", "unique"]  # fixtures


@contextlib.asynccontextmanager
async def process(space: str, url: str = REDIS_URL, **options: Any) -> AsyncIterator[RedisBus]:
    """A bus as one process has it (its loops run in ``loops``)."""
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    bus = RedisBus(client, stream=f"{space}:events", **options)
    yield bus
    await client.aclose()


@contextlib.asynccontextmanager
async def loops(bus: RedisBus, *, consume: bool = False) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(bus.run())]
    if consume:
        tasks.append(asyncio.create_task(bus.consume()))
    await asyncio.sleep(0.2)  # the readers have found the stream's end
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=10)
        assert not stuck, "the bus's loops did not stop when cancelled:\n" + waiting_tasks()


def waiting_tasks() -> str:
    """Where every task of the loop waits, down to the innermost awaited coroutine (a task's
    own stack shows only its outermost one): what a test that cannot stop should show."""
    stacks = []
    for task in asyncio.all_tasks():
        lines = [repr(task)]
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
            if frame is not None:
                code = frame.f_code
                lines.append(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
        stacks.append("\n".join(lines))
    return "\n".join(stacks)


def cancel_turned_into_error(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, but a cancellation while it waits comes out as a Redis error, as some client
    libraries do when a cancel meets a timeout or a dropped socket."""

    async def converting(*args: Any, **kwargs: Any) -> Any:
        try:
            return await call(*args, **kwargs)
        except asyncio.CancelledError:
            raise RedisConnectionError("the read was cut short") from None

    return converting


def cancel_swallowed(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, but a cancellation while it waits is taken for a failure and the call is
    made again, as redis-py's own retries do with an error a cancellation turned into."""

    async def retrying(*args: Any, **kwargs: Any) -> Any:
        try:
            return await call(*args, **kwargs)
        except asyncio.CancelledError:
            return await call(*args, **kwargs)

    return retrying


def event(number: int, name: str = MESSAGE_RECEIVED) -> Event:
    return Event(name, utcnow(), ticket_id=number, data={"ticket": {"number": number}})


def recorder(into: list[Event]) -> Callable[[Event], Any]:
    async def record(e: Event) -> None:
        into.append(e)

    return record


def test_an_event_survives_the_stream_unchanged():
    original = Event(TICKET_CLOSED, utcnow(), ticket_id=7, data={"a": [1, "b"]}, depth=2)
    assert decode(encode(original)) == original


async def test_every_process_gets_every_event_in_order(unique: str):
    seen_a: list[Event] = []
    seen_b: list[Event] = []
    async with process(unique) as a, process(unique) as b:
        a.subscribe(recorder(seen_a))
        b.subscribe(recorder(seen_b), [TICKET_CREATED])
        async with loops(a), loops(b):
            sent = [event(n, TICKET_CREATED if n % 2 else MESSAGE_RECEIVED) for n in range(50)]
            await a.publish(sent[:25])
            await b.publish(sent[25:])
            await eventually(lambda: len(seen_a) == 50 and len(seen_b) == 25)
    assert [e.id for e in seen_a] == [e.id for e in sent]
    assert [e.id for e in seen_b] == [e.id for e in sent if e.name == TICKET_CREATED]


async def test_a_group_handles_each_event_once_across_processes(unique: str):
    handled: list[Event] = []
    async with process(unique) as a, process(unique) as b:
        for bus in (a, b):
            bus.subscribe(recorder(handled), [MESSAGE_RECEIVED], group="mirror")
        async with loops(a, consume=True), loops(b, consume=True):
            sent = [event(n) for n in range(300)]
            for chunk in range(0, 300, 30):
                await (a if chunk % 60 else b).publish(sent[chunk : chunk + 30])
            await a.publish([event(999, TICKET_CLOSED)])  # not the group's: never handled
            await eventually(lambda: len(handled) >= 300)
            await asyncio.sleep(0.3)
    assert sorted(e.id for e in handled) == sorted(e.id for e in sent)


async def test_a_failed_handler_gets_the_event_again(unique: str):
    tries: list[int] = []

    async def flaky(e: Event) -> None:
        tries.append(e.ticket_id or 0)
        if len(tries) < 3:
            raise RuntimeError("the forum is down")

    async with process(unique) as a:
        a.subscribe(flaky, group="mirror")
        async with loops(a, consume=True):
            await a.publish([event(1)])
            await eventually(lambda: len(tries) == 3)
            await asyncio.sleep(0.5)
    assert tries == [1, 1, 1]  # handled at the third try, then acknowledged: no fourth


async def test_a_handler_that_keeps_failing_is_given_up_after_its_attempts(unique: str):
    tries: list[Event] = []

    async def broken(e: Event) -> None:
        tries.append(e)
        raise RuntimeError("always")

    async with process(unique, attempts=2) as a:
        a.subscribe(broken, group="mirror")
        async with loops(a, consume=True):
            await a.publish([event(1), event(2)])
            await eventually(lambda: len(tries) == 4)
            await asyncio.sleep(1.5)
    assert sorted(e.ticket_id or 0 for e in tries) == [1, 1, 2, 2]


async def test_an_event_a_dead_process_did_not_finish_goes_to_another(unique: str):
    started = asyncio.Event()
    handled_by_b: list[Event] = []

    async def hangs(e: Event) -> None:
        started.set()
        await asyncio.Event().wait()  # the process dies here: never acknowledged

    async with process(unique) as a, process(unique, orphaned_after=0.5) as b:
        a.subscribe(hangs, group="mirror")
        b.subscribe(recorder(handled_by_b), group="mirror")
        async with loops(a, consume=True):
            await a.publish([event(1)])
            await asyncio.wait_for(started.wait(), 10)
        # a is gone with the event pending; b leads now.
        async with loops(b, consume=True):
            await eventually(lambda: handled_by_b)
    assert [e.ticket_id for e in handled_by_b] == [1]


async def test_events_wait_while_redis_is_away_and_go_out_when_it_returns(
    unique: str, redis_proxy: RedisProxy
):
    seen: list[Event] = []
    async with process(unique, redis_proxy.url) as a, process(unique) as b:
        b.subscribe(recorder(seen))
        async with loops(a), loops(b):
            await a.publish([event(1)])
            await eventually(lambda: len(seen) == 1)
            await redis_proxy.cut()
            await a.publish([event(2), event(3)])  # returns: nothing is lost
            await asyncio.sleep(1.0)
            assert len(seen) == 1
            await redis_proxy.mend()
            await eventually(lambda: len(seen) == 3, seconds=20)
    assert [e.ticket_id for e in seen] == [1, 2, 3]


async def test_a_notice_reaches_every_process_once(unique: str):
    heard: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}

    def listener(name: str) -> Callable[[dict[str, Any]], Any]:
        async def hear(payload: dict[str, Any]) -> None:
            heard[name].append(payload)

        return hear

    async with process(unique) as a, process(unique) as b:
        a.listen("wake", listener("a"))
        b.listen("wake", listener("b"))
        b.listen("other", listener("b"))
        async with loops(a), loops(b):
            a.tell("wake", {"loop": "rules"})
            await eventually(lambda: heard["a"] and heard["b"])
            await asyncio.sleep(0.3)
    assert heard == {"a": [{"loop": "rules"}], "b": [{"loop": "rules"}]}


async def test_an_event_in_the_stream_twice_is_handled_once_by_a_group(unique: str):
    """A publish whose answer was lost is sent again: the stream then holds the event twice."""
    handled: list[Event] = []
    seen: list[Event] = []
    async with process(unique) as a:
        a.subscribe(recorder(handled), group="mirror")
        a.subscribe(recorder(seen))
        async with loops(a, consume=True):
            once = event(1)
            await a.publish([once])
            await a.publish([once, event(2)])
            await eventually(lambda: len(seen) == 3)
            await asyncio.sleep(0.5)
    assert [e.ticket_id for e in handled] == [1, 2]


@pytest.mark.parametrize("mangled", [cancel_turned_into_error, cancel_swallowed])
async def test_loops_stop_even_when_redis_mangles_their_cancellation(
    unique: str, mangled: Callable[[Callable[..., Any]], Callable[..., Any]]
):
    client = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    for name in ("xread", "xreadgroup", "publish"):
        setattr(client, name, mangled(getattr(client, name)))
    bus = RedisBus(client, stream=f"{unique}:events")
    bus.subscribe(recorder([]), group="mirror")
    try:
        async with loops(bus, consume=True):  # fails if a loop goes on instead of stopping
            await asyncio.sleep(0.5)  # both readers are blocked in a read
    finally:
        await client.aclose()
