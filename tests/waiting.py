"""Waiting in tests for something the service does in the background."""

import asyncio
from collections.abc import Callable
from typing import Any


async def eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, and return that;
    fail the test after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
