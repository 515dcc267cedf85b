"""What is wrong with a set of rule files, said the way an admin can fix it.

Validators raise ``Invalid`` (what was expected, and where below the value checked); pydantic
collects them, and ``flaw`` turns each of its errors into a ``Flaw``: a key path into one rule's
table (``("then", 1, "text")``) and a message. The loader turns a flaw into a ``Problem`` with
the file and line. Every problem reads ``file:line: rule "id": key: what was expected``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import ErrorDetails

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Flaw:
    """A problem in one rule's table: the key path (indices from 0) and what was expected."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{dotted(self.path)}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Problem:
    """A problem in a rule file. ``rule_number`` counts ``[[rule]]`` blocks in the file from 1,
    naming a rule whose id is unknown or unusable."""

    file: str
    line: int | None
    rule_id: str | None
    message: str
    rule_number: int | None = None

    def __str__(self) -> str:
        place = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.rule_id is not None:
            return f'{place}: rule "{self.rule_id}": {self.message}'
        if self.rule_number is not None:
            return f"{place}: rule #{self.rule_number}: {self.message}"
        return f"{place}: {self.message}"


class RulesError(Exception):
    """The rule files cannot go live; ``problems`` lists every one, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def dotted(path: Path) -> str:
    """``("then", 1, "text")`` as an admin counts it: ``then[2].text``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out


def shown(value: Any) -> str:
    """A value as it would be written in TOML, or what it is when that would be long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table" if value else "{}"
    if isinstance(value, list | tuple):
        return "a list" if value else "[]"
    return type(value).__name__


class Invalid(ValueError):
    """Raised by validators: ``message`` says what was expected; ``path`` leads from the value
    being validated to the key at fault (``Invalid("unknown locale", "de")``)."""

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


class Table(BaseModel):
    """A TOML table of the rule format: immutable, and an unknown key is named with the keys
    that would have been understood."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            known = [f.alias or name for name, f in cls.model_fields.items()]
            for key in raw:
                if key not in known:
                    raise Invalid(f"unknown key; expected one of: {', '.join(known)}", key)
        return raw


# Union members are tagged "<name>" so that tags can be told from keys in error locations.
def tag(name: str) -> str:
    return f"<{name}>"


# What pydantic itself still checks; every other check is a validator raising Invalid.
_GENERIC = {"tuple_type": "expected a list", "model_type": "expected a table"}


def flaw(error: ErrorDetails) -> Flaw:
    """One pydantic error as a flaw of the rule: tags dropped from the path, our own
    validators' messages as they are, pydantic's in the format's words."""
    path: Path = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("<")))
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Invalid):
        return Flaw((*path, *cause.path), str(cause))
    if error["type"] == "missing":
        return Flaw(path, "required")
    if error["type"] in _GENERIC:
        return Flaw(path, f"{_GENERIC[error['type']]}, got {shown(error['input'])}")
    return Flaw(path, error["msg"])
