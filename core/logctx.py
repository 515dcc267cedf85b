"""Log context: the ticket and inbox a piece of work is about, added to every log line in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_fields: ContextVar[dict[str, Any]] = ContextVar("otklik_log_fields", default={})  # noqa: B039


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Within the block, every log line carries ``fields`` (e.g. ticket=1042 inbox=web)."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def bind(**fields: Any) -> None:
    """Add fields for the rest of the current task (its context is its own)."""
    _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})


def current() -> dict[str, Any]:
    return _fields.get()
