"""The rule format: a ``[[rule]]`` table, validated and compiled into a ``Rule``.

    [[rule]]
    id = "thank-on-close"            # unique across files: 1-64 of a-z 0-9 _ . -
    on = "ticket.closed"             # an event, or a list of events
    enabled = true                   # default true
    delay = "2h"                     # optional: 90s, 30m, 2h, 1d, 1h30m; at most 30d
    cancel_on = ["ticket.reopened"]  # optional, only with delay
    if = { field = "inbox.channel", eq = "telegram" }   # optional: conditions.py
    then = [{ action = "reply", text = "Thank you!" }]  # actions, in order: actions.py

Conditions and texts may only read fields that every event in ``on`` has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from core.rules.actions import Action
from core.rules.catalogue import Scope
from core.rules.conditions import Condition, Moment
from core.rules.problems import Flaw, Invalid, Table, flaw, shown
from core.rules.values import Duration, Events, Flag, parse_events

ID = re.compile(r"^[a-z0-9_.-]{1,64}$")


def _id(raw: Any) -> str:
    if not isinstance(raw, str) or not ID.match(raw):
        raise Invalid(f"expected 1-64 of a-z 0-9 _ . -, got {shown(raw)}")
    return raw


class Rule(Table):
    """A validated rule: conditions and texts compiled, actions checked; immutable."""

    id: Annotated[str, BeforeValidator(_id)]
    events: Events = Field(alias="on")
    enabled: Flag = True
    delay: Duration | None = None
    cancel_on: Events = ()
    condition: Condition | None = Field(None, alias="if")
    actions: tuple[Action, ...] = Field(alias="then")

    @field_validator("actions", mode="before")
    @classmethod
    def _some_actions(cls, raw: Any) -> Any:
        if not isinstance(raw, list) or not raw:
            raise Invalid(f"expected a non-empty list of actions, got {shown(raw)}")
        return raw

    @model_validator(mode="after")
    def _cancel_needs_delay(self) -> Rule:
        if self.cancel_on and self.delay is None:
            raise Invalid("only allowed with delay: it cancels a pending delayed run", "cancel_on")
        return self

    def matches(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        """Whether the rule's conditions hold for an event's data at ``moment`` (which
        ``within_working_hours`` asks); never raises."""
        return self.condition is None or self.condition(data, moment)


class RuleFlaws(Exception):
    """A rule table that cannot be used, with every flaw found in it."""

    def __init__(self, flaws: list[Flaw]) -> None:
        self.flaws = flaws
        super().__init__("; ".join(str(f) for f in flaws))


def read_rule(raw: Any) -> Rule:
    """Validate one ``[[rule]]`` table as tomllib read it; raise RuleFlaws naming every flaw.

    ``on`` is read first: conditions and texts are checked against its events' fields.
    """
    if not isinstance(raw, dict):
        raise RuleFlaws([Flaw((), f"expected a [[rule]] table, got {shown(raw)}")])
    try:
        scope = Scope(parse_events(raw.get("on")))
    except Invalid:
        scope = Scope(None)  # the validation below reports what is wrong with "on"
    try:
        return Rule.model_validate(raw, context={"scope": scope})
    except ValidationError as exc:
        raise RuleFlaws([flaw(error) for error in exc.errors()]) from None
