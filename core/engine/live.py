"""The rules in force, reloaded when their folder changes; a broken set never replaces them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from watchfiles import awatch

from core.clock import utcnow
from core.rules import Problem, RulesError, RuleSet, load_rules

log = logging.getLogger("otklik.rules")


class LiveRules:
    """``current`` is the last good set; ``problems`` says why the files on disk are not live
    (empty when they are). ``changed`` callbacks run after every successful load."""

    def __init__(self, directory: Path, clock: Callable[[], datetime] = utcnow) -> None:
        self.directory = directory
        self.current = RuleSet()
        self.problems: list[Problem] = []
        self.loaded_at: datetime | None = None
        self._clock = clock

    def reload(self) -> bool:
        """Load the folder; on success the new set goes live. Returns whether it did."""
        try:
            rules = load_rules(self.directory)
        except RulesError as exc:
            self.problems = exc.problems
            log.error(
                "rules in %s rejected; the %d rule(s) loaded before stay live:\n%s",
                self.directory,
                len(self.current),
                exc,
            )
            return False
        self.current, self.problems, self.loaded_at = rules, [], self._clock()
        log.info("rules loaded from %s: %d rule(s)", self.directory, len(rules))
        return True

    async def watch(self, stop: asyncio.Event | None = None) -> None:
        """Reload on every change of the folder's files until cancelled (or ``stop`` is set)."""
        if not self.directory.is_dir():
            log.error("rules folder %s does not exist: not watching it", self.directory)
            return
        async for _changes in awatch(
            self.directory, debounce=300, step=100, stop_event=stop, recursive=False
        ):
            # Compiling a large set takes a while: off the event loop, so nothing stalls.
            await asyncio.to_thread(self.reload)
