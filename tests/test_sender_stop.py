"""A sender stops when it is told to, whatever it is doing: a stop that came while a pass was
winding down was once swallowed, and the stopped service's sender went on claiming rows."""

from __future__ import annotations

import asyncio

import pytest

from core.bus import LocalBus
from core.db import Database
from core.sender import Sender


async def test_a_sender_stopped_while_a_pass_winds_down_stops(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    winding_down = asyncio.Event()
    renew = Sender._renew

    async def slow_to_stop(self: Sender) -> None:
        try:
            await renew(self)
        finally:  # cancelled as the pass ends: it takes a moment
            winding_down.set()
            await asyncio.sleep(0.2)

    monkeypatch.setattr(Sender, "_renew", slow_to_stop)
    task = asyncio.create_task(Sender(db, {}, LocalBus()).run(poll_seconds=0.05))
    try:
        await asyncio.wait_for(winding_down.wait(), 5)  # the first pass found nothing
        task.cancel()  # the service stops now
        done, _ = await asyncio.wait([task], timeout=5)
        assert task in done and task.cancelled()
    finally:
        task.cancel()
