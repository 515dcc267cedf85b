"""Conditions of rules: validated against the catalogue when rules load, then evaluated.

A condition is a comparison ``{ field = "ticket.priority", eq = "high" }`` with exactly one
operator, a combinator: ``{ all = [...] }``, ``{ any = [...] }``, ``{ not = {...} }``, or
``{ within_working_hours = true }`` (now is, or with false is not, inside the working hours of
the event's inbox: the ``Moment`` the engine passes in knows the calendars). Loading
checks the field against every event of the rule, the operator against the field's kind and the
operand against both, and compiles regexes and date-times once. The result is a tree of small
callables over an event's data that never raises: a value that is missing, unset or of another
kind than the catalogue says makes every comparison false except ``is_set = false``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from core.rules.catalogue import OPERATORS, Kind, Operand, Scope, fields_of, unknown_part
from core.rules.catalogue import Field as Spec
from core.rules.problems import Invalid, Table, shown, tag

_MISSING = object()
WORKING_HOURS = "within_working_hours"


class Moment(Protocol):
    """When a condition is asked, as far as conditions on time need to know."""

    def working(self, inbox: str | None) -> bool:
        """Whether this moment is inside the working hours of ``inbox``'s calendar."""
        ...


def _contains(value: Any, item: Any) -> bool:
    if isinstance(value, str):
        return item.casefold() in value.casefold()
    return item in value


_TESTS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "in": lambda value, options: value in options,
    "not_in": lambda value, options: value not in options,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "contains": _contains,
    "matches": lambda value, pattern: pattern.search(value) is not None,
}


class Comparison(Table):
    """One field, one operator, one operand: ``{ field = "ticket.number", gt = 100 }``."""

    spec: Spec
    op: str
    operand: Any

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any, info: ValidationInfo) -> Any:
        # Replaces Table's check: the keys are "field" and an operator, compiled here.
        if not isinstance(raw, dict):
            return raw
        scope = info.context["scope"] if info.context else Scope(None)
        spec = _field(raw.get("field"), scope)
        named = [key for key in raw if key != "field"]
        unknown = [key for key in named if key not in OPERATORS]
        if unknown:
            expected = f'"field" and one operator of: {", ".join(OPERATORS)}'
            raise Invalid(f"unknown key; expected {expected}", unknown[0])
        if len(named) > 1:
            raise Invalid(f"expected one operator, got {' and '.join(named)}")
        if not named:
            raise Invalid(f"expected an operator: {', '.join(OPERATORS)}")
        op = OPERATORS[named[0]]
        if spec.kind not in op.kinds:
            allowed = ", ".join(name for name, o in OPERATORS.items() if spec.kind in o.kinds)
            raise Invalid(
                f"not an operator for {spec.path} ({spec.kind}); expected one of: {allowed}",
                op.name,
            )
        return {"spec": spec, "op": op.name, "operand": _operand(spec, op.operand, raw)}

    def __call__(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        raw = _lookup(data, self.spec.parts)
        if self.op == "is_set":
            return _present(raw) is self.operand
        value = _read(self.spec, raw)
        return value is not _MISSING and _TESTS[self.op](value, self.operand)


def _field(path: Any, scope: Scope) -> Spec:
    if path is None:
        raise Invalid('required: a field path like "ticket.priority"', "field")
    if not isinstance(path, str):
        raise Invalid(f'expected a field path like "ticket.priority", got {shown(path)}', "field")
    if path in scope.fields:
        return scope.fields[path]
    if (event := scope.lacking(path)) and path in fields_of(None):
        raise Invalid(f'"{path}" is not a field of {event}', "field")
    unknown = unknown_part(scope.fields, tuple(path.split(".")))
    if unknown is None:
        below = [p for p in scope.fields if p.startswith(path + ".")]
        raise Invalid(f'"{path}" is not a field; expected one of: {", ".join(below)}', "field")
    name, options = unknown
    raise Invalid(f'unknown field "{name}"; expected one of: {", ".join(options)}', "field")


def _operand(spec: Spec, kind: Operand, raw: dict[str, Any]) -> Any:
    name = next(key for key in raw if key != "field")
    value = raw[name]
    if kind is Operand.FLAG:
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false, got {shown(value)}", name)
        return value
    if kind is Operand.ITEM:
        if not isinstance(value, str):
            raise Invalid(f"expected a text, got {shown(value)}", name)
        return value
    if kind is Operand.PATTERN:
        return _pattern(value, name)
    if kind is Operand.VALUES:
        if not isinstance(value, list) or not value:
            raise Invalid(f"expected a non-empty list, got {shown(value)}", name)
        return tuple(_value(spec, item, name, i) for i, item in enumerate(value))
    return _value(spec, value, name)


def _pattern(value: Any, name: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise Invalid(f"expected a regular expression, got {shown(value)}", name)
    try:
        return re.compile(value)
    except re.error as exc:
        raise Invalid(f"expected a regular expression, got {shown(value)}: {exc}", name) from None


def _value(spec: Spec, value: Any, *path: str | int) -> Any:
    """The operand ``value`` checked against the field's kind, as the test compares it."""
    if spec.kind is Kind.DATETIME:
        moment = _datetime(value)
        if moment is None or moment.tzinfo is None:
            raise Invalid(
                "expected a date-time with its offset, like 2025-01-31T09:00:00+03:00, "
                f"got {shown(value)}",
                *path,
            )
        return moment
    if spec.kind is Kind.CHOICE and value not in spec.choices:
        choices = ", ".join(f'"{c}"' for c in spec.choices)
        raise Invalid(f"expected one of {choices}, got {shown(value)}", *path)
    if _read(spec, value) is _MISSING:
        raise Invalid(f"expected {_NAMES[spec.kind]}, got {shown(value)}", *path)
    return value


_NAMES = {Kind.TEXT: "a text", Kind.NUMBER: "a number", Kind.BOOLEAN: "true or false"}


def _lookup(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = data
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _present(value: Any) -> bool:
    return value is not _MISSING and value is not None and value != "" and value != []


def _read(spec: Spec, value: Any) -> Any:
    """``value`` from the event's data as the field's kind, or _MISSING when it is not one."""
    if spec.kind in (Kind.TEXT, Kind.CHOICE):
        return value if isinstance(value, str) else _MISSING
    if spec.kind is Kind.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if ok else _MISSING
    if spec.kind is Kind.BOOLEAN:
        return value if isinstance(value, bool) else _MISSING
    if spec.kind is Kind.DATETIME:
        moment = _datetime(value)
        if moment is None:
            return _MISSING
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored in UTC
    if not isinstance(value, list | tuple):
        return _MISSING
    if spec.item_key is None:
        return value
    return [item.get(spec.item_key) for item in value if isinstance(item, Mapping)]


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


class _Group(Table):
    conditions: tuple[Condition, ...]

    @field_validator("conditions", mode="before")
    @classmethod
    def _non_empty(cls, raw: Any) -> Any:
        if not isinstance(raw, list) or not raw:
            raise Invalid(f"expected a non-empty list of conditions, got {shown(raw)}")
        return raw


class AllOf(_Group):
    """``{ all = [...] }``: every condition holds."""

    conditions: tuple[Condition, ...] = Field(alias="all")

    def __call__(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        return all(condition(data, moment) for condition in self.conditions)


class AnyOf(_Group):
    """``{ any = [...] }``: at least one condition holds."""

    conditions: tuple[Condition, ...] = Field(alias="any")

    def __call__(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        return any(condition(data, moment) for condition in self.conditions)


class NoneOf(Table):
    """``{ not = {...} }``: the condition does not hold."""

    condition: Condition = Field(alias="not")

    def __call__(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        return not self.condition(data, moment)


class WithinWorkingHours(Table):
    """``{ within_working_hours = true }``: the moment the condition is asked (the event's,
    or a delayed rule's firing) is inside the working hours of the inbox's calendar; false:
    outside them. Asked without a moment, it does not hold either way."""

    expected: bool = Field(alias=WORKING_HOURS)

    @field_validator("expected", mode="before")
    @classmethod
    def _flag(cls, raw: Any) -> Any:
        if not isinstance(raw, bool):
            raise Invalid(f"expected true or false, got {shown(raw)}")
        return raw

    def __call__(self, data: Mapping[str, Any], moment: Moment | None = None) -> bool:
        if moment is None:
            return False
        inbox = _lookup(data, ("inbox", "name"))
        return moment.working(inbox if isinstance(inbox, str) else None) is self.expected


class _NotACondition(Table):
    """Stands for anything else written where a condition was expected, to say so."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any) -> Any:
        raise Invalid(
            'expected a condition: { field = "…", <operator> = … }, { all = [...] }, '
            f"{{ any = [...] }} or {{ not = {{...}} }}, got {shown(raw)}"
        )


def _kind(raw: Any) -> str:
    if isinstance(raw, dict):
        for key in ("all", "any", "not", WORKING_HOURS):
            if key in raw:
                return tag(key)
        if "field" in raw or any(key in OPERATORS for key in raw):
            return tag("field")
    return tag("other")


Condition = Annotated[
    Annotated[Comparison, Tag(tag("field"))]
    | Annotated[AllOf, Tag(tag("all"))]
    | Annotated[AnyOf, Tag(tag("any"))]
    | Annotated[NoneOf, Tag(tag("not"))]
    | Annotated[WithinWorkingHours, Tag(tag(WORKING_HOURS))]
    | Annotated[_NotACondition, Tag(tag("other"))],
    Discriminator(_kind),
]

for _model in (_Group, AllOf, AnyOf, NoneOf):
    _model.model_rebuild()
