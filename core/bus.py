"""The event bus: the core publishes after commit; subscribers (rules, live views) listen.

The in-process bus calls handlers one after another; a failing handler is logged and the
others still run. A Redis-backed bus for several processes implements the same interface.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from core.events import Event

Handler = Callable[[Event], Awaitable[None]]
log = logging.getLogger("otklik.bus")


class EventBus(Protocol):
    def subscribe(self, handler: Handler, names: Iterable[str] | None = None) -> Callable[[], None]:
        """Call ``handler`` for events named in ``names`` (all when None); returns unsubscribe."""
        ...

    async def publish(self, events: Sequence[Event]) -> None: ...


class LocalBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[Handler, frozenset[str] | None]] = []

    def subscribe(self, handler: Handler, names: Iterable[str] | None = None) -> Callable[[], None]:
        entry = (handler, frozenset(names) if names is not None else None)
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry)

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            for handler, names in list(self._subscribers):
                if names is not None and event.name not in names:
                    continue
                try:
                    await handler(event)
                except Exception:
                    log.exception(
                        "handler %r failed on %s ticket=%s", handler, event.name, event.ticket_id
                    )
