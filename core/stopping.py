"""Loops that retry on errors must still stop when asked."""

from __future__ import annotations

import asyncio


def unless_stopped() -> None:
    """Raise ``CancelledError`` if the running task has been asked to stop. A call cancelled
    just as it failed or timed out can surface as an error instead of the cancellation (some
    client libraries turn it into theirs), and a loop that retries on errors would then go on
    for ever: every such loop checks this before it waits and tries again."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
