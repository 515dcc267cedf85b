"""web.bounded.at_most: the wait is bounded, the work is not cut off."""

from __future__ import annotations

import asyncio
import gc

import pytest

from web.bounded import at_most


async def test_the_result_when_in_time():
    async def quick() -> int:
        return 7

    assert await at_most(1.0, quick()) == 7


async def test_a_late_work_times_out_but_goes_on_to_its_end():
    ended = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.2)
        ended.set()

    with pytest.raises(TimeoutError):
        await at_most(0.01, slow())
    await asyncio.wait_for(ended.wait(), 5)  # not cancelled half-way


async def test_a_late_failure_is_retrieved(caplog: pytest.LogCaptureFixture):
    async def fails_late() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("the database went away")

    with pytest.raises(TimeoutError):
        await at_most(0.01, fails_late())
    await asyncio.sleep(0.2)
    gc.collect()  # an unretrieved task's failure is logged when it is collected
    assert "never retrieved" not in caplog.text
