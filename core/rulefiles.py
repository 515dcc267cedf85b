"""Admins editing the dispatcher rule files: list, read, save (validated first) and history.

A save checks the whole folder as it would be after the edit; a set with any problem raises
``RulesError`` and nothing is written. A good edit is written atomically (a temporary file in
the folder, fsync, rename) together with a ``RuleChange`` row naming the admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from core.db import Database
from core.errors import InvalidInput, NotFound
from core.models import Agent, RuleChange
from core.rules import Problem, RulesError, RuleSet, parse_rules

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,60}\.toml$")
# One save at a time in this process: read, check and write must not interleave.
_saving = asyncio.Lock()


def check_name(name: str) -> str:
    """A rule file's name, or InvalidInput: never a path, never outside the folder."""
    if not NAME.match(name):
        raise InvalidInput(
            f"file name {name!r}: expected 1-61 of a-z 0-9 _ . - (starting with a letter or "
            "digit) and .toml, e.g. ratings.toml"
        )
    return name


def files(folder: Path) -> list[str]:
    """The rule files' names in the order they load (editors' dot files left out)."""
    return sorted(
        p.name for p in folder.glob("*.toml") if not p.name.startswith(".") and p.is_file()
    )


def read(folder: Path, name: str) -> str:
    path = folder / check_name(name)
    if not path.is_file():
        raise NotFound(f"rule file {name} does not exist")
    return path.read_text(encoding="utf-8")


async def save(
    db: Database, folder: Path, name: str, text: str, agent: Agent, now: datetime
) -> RuleSet:
    """Write ``text`` as rule file ``name`` if the folder's rules stay valid; returns them.

    Raises RulesError listing every problem of the set (nothing written then)."""
    path = folder / check_name(name)
    async with _saving:
        sources, unreadable = await asyncio.to_thread(_sources, folder, name)
        old = sources.get(name)
        sources[name] = text
        try:
            rules = parse_rules(sources)
        except RulesError as exc:
            raise RulesError(unreadable + exc.problems) from None
        if unreadable:
            raise RulesError(unreadable)
        if old == text:
            return rules
        async with db.transaction() as s:
            s.add(RuleChange(file=name, old_text=old, new_text=text, agent_id=agent.id, at=now))
            await s.flush()
            # Inside the transaction: a failed write records nothing.
            await asyncio.to_thread(_write, path, text)
    return rules


def _sources(folder: Path, edited: str) -> tuple[dict[str, str], list[Problem]]:
    """The folder's rule texts; a file that is not UTF-8 is a problem unless it is the one
    being replaced."""
    sources: dict[str, str] = {}
    unreadable: list[Problem] = []
    for name in files(folder):
        try:
            sources[name] = (folder / name).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            if name != edited:
                unreadable.append(Problem(name, None, None, f"expected UTF-8 text: {exc.reason}"))
    return sources, unreadable


def _write(path: Path, text: str) -> None:
    """Replace ``path`` at once: readers see the old file or the new one, never half of it."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    # A dot name: the rule loader and its watcher's reload skip the half-written file.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Change:
    change: RuleChange
    author: str


async def history(db: Database, name: str | None = None, limit: int = 200) -> Sequence[Change]:
    """Saved edits, newest first, with their authors' names; of one file when ``name`` is given."""
    query = select(RuleChange, Agent.name).join(Agent, Agent.id == RuleChange.agent_id)
    if name is not None:
        query = query.where(RuleChange.file == name)
    query = query.order_by(RuleChange.at.desc(), RuleChange.id.desc()).limit(limit)
    async with db.reading() as s:
        return [Change(*row) for row in await s.execute(query)]


async def change(db: Database, change_id: int) -> Change:
    query = (
        select(RuleChange, Agent.name)
        .join(Agent, Agent.id == RuleChange.agent_id)
        .where(RuleChange.id == change_id)
    )
    async with db.reading() as s:
        row = (await s.execute(query)).first()
    if row is None:
        raise NotFound(f"rule change {change_id} does not exist")
    return Change(*row)
