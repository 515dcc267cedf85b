"""Support levels: which reaction and resolution times a ticket gets, by the rules' conditions.

    [[sla.level]]
    name = "VIP"
    calendar = "office"              # a [calendars.<name>]
    reaction = "1h"                  # working time: "3d" is 72 working hours, not three days
    resolution = "1d"
    if = { field = "ticket.tags", contains = "vip" }   # the rules' conditions, ticket facts

Levels are checked in order and the first whose conditions hold applies; else "Default",
which must exist and be the only level without conditions. They are checked when a ticket is
registered and again when its tags or priority change while no deadline of it is met
(``core.sla.deadlines.relevel``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from core import events
from core.rules.catalogue import Scope
from core.rules.conditions import Condition, Moment
from core.rules.problems import Invalid, Table, shown
from core.rules.values import Duration

DEFAULT = "Default"
# Conditions read a ticket's facts: ticket.*, customer.*, inbox.* as ticket.created has them.
FACTS = Scope((events.TICKET_CREATED,))


def _text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(f"expected a non-empty text, got {shown(raw)}")
    return raw


Name = Annotated[str, BeforeValidator(_text)]


class Level(Table):
    """One ``[[sla.level]]``, its condition compiled."""

    name: Name
    calendar: Name
    reaction: Duration
    resolution: Duration
    condition: Condition | None = Field(None, alias="if")

    def matches(self, facts: Mapping[str, Any], moment: Moment | None = None) -> bool:
        """Whether the level's conditions hold for a ticket's facts (at ``moment``, for
        ``within_working_hours``); never raises."""
        return self.condition is None or self.condition(facts, moment)


def read_level(raw: Any) -> Level:
    """Validate one ``[[sla.level]]`` table, its conditions against the ticket's facts."""
    return Level.model_validate(raw, context={"scope": FACTS})


@dataclass(frozen=True)
class SupportLevels:
    """The levels in order, checked: use ``of`` to build."""

    levels: tuple[Level, ...]

    @classmethod
    def of(cls, levels: Sequence[Level], calendars: Collection[str]) -> SupportLevels:
        """Check names, calendars and the Default rule; raise ``Invalid`` with the path
        (``[i, key]``) of the first level at fault."""
        seen: set[str] = set()
        for i, level in enumerate(levels):
            if level.name in seen:
                raise Invalid(f"{shown(level.name)} is used twice; names must be unique", i, "name")
            seen.add(level.name)
            if level.calendar not in calendars:
                known = ", ".join(calendars) or "none defined"
                raise Invalid(
                    f"unknown calendar {shown(level.calendar)}; expected one of: {known}",
                    i,
                    "calendar",
                )
            if level.name == DEFAULT and level.condition is not None:
                raise Invalid(f'"{DEFAULT}" applies when no other level does: no "if"', i, "if")
            if level.name != DEFAULT and level.condition is None:
                raise Invalid(f'required: only "{DEFAULT}" may go without conditions', i, "if")
        if levels and DEFAULT not in seen:
            raise Invalid(f'expected a level named "{DEFAULT}" for tickets no other level matches')
        return cls(tuple(levels))

    @property
    def default(self) -> Level | None:
        """The level named Default; None when no levels are configured."""
        return next((level for level in self.levels if level.condition is None), None)

    def for_ticket(self, facts: Mapping[str, Any], moment: Moment | None = None) -> Level:
        """The first level in order whose conditions hold for ``facts``, else Default."""
        default = None
        for level in self.levels:
            if level.condition is None:
                default = level
            elif level.matches(facts, moment):
                return level
        if default is None:
            raise LookupError("no support levels are configured")
        return default
