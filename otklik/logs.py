"""Structured logs: one line per record with the log context (ticket, inbox, …) as fields."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from core.logctx import current


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self._json = as_json

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = {**current(), **getattr(record, "fields", {})}
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if self._json:
            return json.dumps(
                {
                    "at": at,
                    "level": record.levelname.lower(),
                    "logger": record.name,
                    "message": message,
                    **fields,
                },
                ensure_ascii=False,
                default=str,
            )
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{at} {record.levelname:<7} {record.name}: {message}"
        return f"{line}  {extra}" if extra else line


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
