"""Rule conditions: every operator over real event data, combinators, and load-time checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core import events
from core.inboxes import InboxRef
from core.models import Message
from core.rules.catalogue import EVENTS, OPERATORS, Kind, fields_of, reference
from core.rules.schema import Rule, RuleFlaws, read_rule
from core.work import Facts, message_snapshot

CREATED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def ticket_data(**changes: Any) -> dict[str, Any]:
    """An event's data as the core builds it: a ticket of Anna's in the Telegram inbox."""
    facts = Facts(
        id=1,
        number=42,
        subject="Printer is on fire",
        status="open",
        priority="high",
        tags=("vip", "printer"),
        created_at=CREATED,
        inbox=InboxRef(3, "support", "telegram"),
        assignee_id=None,
        assignee_name=None,
        customer_id=7,
        customer_name="Anna Petrova",
        customer_email=None,
    )
    message = Message(
        id=5,
        text="It is URGENT, please call",
        direction="in",
        internal=False,
        attachments=[{"kind": "image", "name": "fire.jpg"}],
        author_agent_id=None,
        created_at=CREATED,
    )
    data = {**facts.snapshot(), "message": message_snapshot(message)}
    for path, value in changes.items():
        group, key = path.split("__")
        data[group] = {**data[group], key: value}
    return data


def rule_with(condition: Any, on: str | list[str] = "message.received") -> Rule:
    return read_rule(
        {"id": "r", "on": on, "if": condition, "then": [{"action": "note", "text": "x"}]}
    )


def flaws_of(condition: Any, on: str | list[str] = "message.received") -> list[str]:
    with pytest.raises(RuleFlaws) as caught:
        rule_with(condition, on)
    return [str(f) for f in caught.value.flaws]


# (field, operator, operand, expected over ticket_data())
OPERATOR_CASES = [
    ("ticket.priority", "eq", "high", True),
    ("ticket.priority", "eq", "low", False),
    ("ticket.number", "eq", 42, True),
    ("message.internal", "eq", False, True),
    ("ticket.subject", "eq", "printer is on fire", False),  # eq is exact
    ("ticket.status", "ne", "closed", True),
    ("ticket.status", "ne", "open", False),
    ("customer.email", "ne", "a@example.com", False),  # unset: no comparison holds
    ("ticket.priority", "in", ["high", "urgent"], True),
    ("ticket.number", "in", [1, 2, 3], False),
    ("inbox.channel", "not_in", ["webchat"], True),
    ("inbox.channel", "not_in", ["webchat", "telegram"], False),
    ("customer.email", "not_in", ["a@example.com"], False),
    ("ticket.number", "lt", 43, True),
    ("ticket.number", "lt", 42, False),
    ("ticket.number", "le", 42, True),
    ("ticket.number", "le", 41.5, False),
    ("ticket.number", "gt", 41, True),
    ("ticket.number", "gt", 42, False),
    ("ticket.number", "ge", 42, True),
    ("ticket.number", "ge", 43, False),
    ("ticket.created_at", "lt", CREATED + timedelta(seconds=1), True),
    ("ticket.created_at", "gt", "2025-03-01T12:00:00+03:00", True),  # 09:00 UTC
    ("ticket.created_at", "ge", "2025-03-01T12:31:00+03:00", False),
    ("message.text", "contains", "urgent", True),  # ignoring case
    ("message.text", "contains", "refund", False),
    ("message.attachments", "contains", "image", True),  # compared by their kind
    ("message.attachments", "contains", "video", False),
    ("message.text", "matches", r"^It is [A-Z]+\b", True),
    ("message.text", "matches", r"^urgent", False),
    ("customer.name", "is_set", True, True),
    ("customer.email", "is_set", True, False),
    ("customer.email", "is_set", False, True),
    ("ticket.assignee", "is_set", False, True),
]


@pytest.mark.parametrize(("field", "op", "operand", "expected"), OPERATOR_CASES)
def test_operator_over_event_data(field: str, op: str, operand: Any, expected: bool) -> None:
    rule = rule_with({"field": field, op: operand})
    assert rule.matches(ticket_data()) is expected


def test_operator_table_covers_every_operator() -> None:
    assert {case[1] for case in OPERATOR_CASES} == set(OPERATORS)


def test_a_toml_datetime_compares_with_the_iso_text_in_the_data() -> None:
    moscow = timezone(timedelta(hours=3))
    rule = rule_with(
        {"field": "ticket.created_at", "le": datetime(2025, 3, 1, 12, 30, tzinfo=moscow)}
    )
    assert rule.matches(ticket_data())
    assert not rule.matches(ticket_data(ticket__created_at="2025-03-01T09:31:00+00:00"))


def test_a_naive_datetime_in_the_data_is_taken_as_utc() -> None:
    rule = rule_with({"field": "ticket.created_at", "lt": "2025-03-01T09:00:00+00:00"})
    assert rule.matches(ticket_data(ticket__created_at="2025-03-01T08:59:00"))


def test_contains_on_a_list_without_tables_holds_nothing_it_cannot_compare() -> None:
    rule = rule_with({"field": "message.attachments", "contains": "image"})
    assert not rule.matches(ticket_data(message__attachments=["image"]))


def test_all_holds_when_every_condition_holds() -> None:
    rule = rule_with(
        {
            "all": [
                {"field": "ticket.priority", "in": ["high", "urgent"]},
                {"field": "inbox.channel", "eq": "telegram"},
            ]
        }
    )
    assert rule.matches(ticket_data())
    assert not rule.matches(ticket_data(inbox__channel="webchat"))


def test_any_holds_when_one_condition_holds() -> None:
    rule = rule_with(
        {
            "any": [
                {"field": "ticket.priority", "eq": "urgent"},
                {"field": "message.text", "contains": "urgent"},
            ]
        }
    )
    assert rule.matches(ticket_data())
    assert not rule.matches(ticket_data(message__text="thanks"))


def test_not_inverts_and_nests() -> None:
    rule = rule_with(
        {
            "not": {
                "any": [
                    {"field": "customer.email", "is_set": True},
                    {"all": [{"field": "ticket.number", "gt": 100}]},
                ]
            }
        }
    )
    assert rule.matches(ticket_data())
    assert not rule.matches(ticket_data(customer__email="anna@example.com"))
    assert not rule.matches(ticket_data(ticket__number=101))


def test_a_rule_without_conditions_matches_everything() -> None:
    rule = read_rule({"id": "r", "on": "ticket.closed", "then": [{"action": "stop"}]})
    assert rule.condition is None
    assert rule.matches({})


def test_a_missing_value_makes_comparisons_false_and_not_of_them_true() -> None:
    data = ticket_data()
    del data["message"]
    assert not rule_with({"field": "message.text", "contains": "a"}).matches(data)
    assert not rule_with({"field": "message.text", "ne": "a"}).matches(data)
    assert rule_with({"not": {"field": "message.text", "eq": "a"}}).matches(data)
    assert rule_with({"field": "message.text", "is_set": False}).matches(data)


def test_an_unassigned_agent_is_not_set() -> None:
    rule = rule_with({"field": "agent.role", "is_set": False}, on="ticket.assigned")
    assert rule.matches({**ticket_data(), "agent": None})
    assert not rule.matches({**ticket_data(), "agent": {"id": 2, "name": "Boris", "role": "agent"}})


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ticket": "not a table"},
        {"ticket": {"number": "42", "created_at": "yesterday", "priority": 3}},
        {"ticket": {"number": True, "created_at": 5}},
        {"message": {"text": None, "attachments": "image"}},
        {"message": {"text": 7, "attachments": [1, None, {"kind": 2}]}},
    ],
)
def test_evaluation_never_raises_on_odd_data(data: dict[str, Any]) -> None:
    rule = rule_with(
        {
            "any": [
                {"field": "ticket.number", "ge": 1},
                {"field": "ticket.created_at", "lt": "2030-01-01T00:00:00+00:00"},
                {"field": "ticket.priority", "in": ["high"]},
                {"field": "message.text", "matches": "."},
                {"field": "message.text", "contains": "a"},
                {"field": "message.attachments", "contains": "image"},
            ]
        }
    )
    assert rule.matches(data) is False


@pytest.mark.parametrize(
    ("condition", "on", "expected"),
    [
        (
            {"field": "ticket.prio", "eq": "high"},
            "ticket.created",
            'if.field: unknown field "ticket.prio"; expected one of: ticket.id, ticket.number,'
            " ticket.subject, ticket.status, ticket.priority, ticket.tags, ticket.assignee_id,"
            " ticket.assignee, ticket.created_at",
        ),
        (
            {"field": "button.payload", "eq": "yes"},
            "ticket.created",
            'if.field: "button.payload" is not a field of ticket.created',
        ),
        (
            {"field": "message.text", "contains": "x"},
            ["message.received", "ticket.closed"],
            'if.field: "message.text" is not a field of ticket.closed',
        ),
        (
            {"field": "customer", "is_set": True},
            "ticket.created",
            'if.field: "customer" is not a field; expected one of: customer.id, customer.name,'
            " customer.email",
        ),
        ({"eq": 1}, "ticket.created", 'if.field: required: a field path like "ticket.priority"'),
        (
            {"field": 5, "eq": 1},
            "ticket.created",
            'if.field: expected a field path like "ticket.priority", got 5',
        ),
        (
            {"field": "ticket.number"},
            "ticket.created",
            "if: expected an operator: eq, ne, in, not_in, lt, le, gt, ge, contains, matches,"
            " is_set",
        ),
        (
            {"field": "ticket.number", "gt": 1, "lt": 9},
            "ticket.created",
            "if: expected one operator, got gt and lt",
        ),
        (
            {"field": "ticket.number", "equals": 1},
            "ticket.created",
            'if.equals: unknown key; expected "field" and one operator of: eq, ne, in, not_in,'
            " lt, le, gt, ge, contains, matches, is_set",
        ),
        (
            {"field": "ticket.subject", "gt": "a"},
            "ticket.created",
            "if.gt: not an operator for ticket.subject (text); expected one of: eq, ne, in,"
            " not_in, contains, matches, is_set",
        ),
        (
            {"field": "ticket.number", "contains": "4"},
            "ticket.created",
            "if.contains: not an operator for ticket.number (number); expected one of: eq, ne,"
            " in, not_in, lt, le, gt, ge, is_set",
        ),
        (
            {"field": "ticket.created_at", "eq": "2025-01-01T00:00:00+00:00"},
            "ticket.created",
            "if.eq: not an operator for ticket.created_at (datetime); expected one of: lt, le,"
            " gt, ge, is_set",
        ),
        (
            {"field": "message.internal", "in": [True]},
            "message.received",
            "if.in: not an operator for message.internal (boolean); expected one of: eq, ne,"
            " is_set",
        ),
        (
            {"field": "ticket.status", "eq": "done"},
            "ticket.created",
            'if.eq: expected one of "new", "open", "waiting", "closed", got "done"',
        ),
        (
            {"field": "ticket.number", "eq": "42"},
            "ticket.created",
            'if.eq: expected a number, got "42"',
        ),
        (
            {"field": "ticket.number", "eq": True},
            "ticket.created",
            "if.eq: expected a number, got true",
        ),
        (
            {"field": "message.internal", "eq": "yes"},
            "message.received",
            'if.eq: expected true or false, got "yes"',
        ),
        ({"field": "ticket.subject", "eq": 3}, "ticket.created", "if.eq: expected a text, got 3"),
        (
            {"field": "ticket.priority", "in": "high"},
            "ticket.created",
            'if.in: expected a non-empty list, got "high"',
        ),
        (
            {"field": "ticket.priority", "in": []},
            "ticket.created",
            "if.in: expected a non-empty list, got []",
        ),
        (
            {"field": "ticket.priority", "not_in": ["low", "hihg"]},
            "ticket.created",
            'if.not_in[2]: expected one of "low", "normal", "high", "urgent", got "hihg"',
        ),
        (
            {"field": "ticket.created_at", "lt": "2025-01-01T00:00:00"},
            "ticket.created",
            "if.lt: expected a date-time with its offset, like 2025-01-31T09:00:00+03:00,"
            ' got "2025-01-01T00:00:00"',
        ),
        (
            {"field": "ticket.created_at", "lt": datetime(2025, 1, 1)},
            "ticket.created",
            "if.lt: expected a date-time with its offset, like 2025-01-31T09:00:00+03:00,"
            " got 2025-01-01T00:00:00",
        ),
        (
            {"field": "message.attachments", "contains": 1},
            "message.received",
            "if.contains: expected a text, got 1",
        ),
        (
            {"field": "ticket.subject", "matches": "(unclosed"},
            "ticket.created",
            'if.matches: expected a regular expression, got "(unclosed": missing ),'
            " unterminated subpattern at position 0",
        ),
        (
            {"field": "ticket.subject", "matches": 5},
            "ticket.created",
            "if.matches: expected a regular expression, got 5",
        ),
        (
            {"field": "customer.email", "is_set": "yes"},
            "ticket.created",
            'if.is_set: expected true or false, got "yes"',
        ),
        ({"all": []}, "ticket.created", "if.all: expected a non-empty list of conditions, got []"),
        (
            {"any": {"field": "ticket.number", "eq": 1}},
            "ticket.created",
            "if.any: expected a non-empty list of conditions, got a table",
        ),
        (
            {"all": [{"field": "ticket.number", "eq": 1}, "ticket.number = 1"]},
            "ticket.created",
            'if.all[2]: expected a condition: { field = "…", <operator> = … }, { all = [...] },'
            ' { any = [...] } or { not = {...} }, got "ticket.number = 1"',
        ),
        (
            {
                "not": {"field": "ticket.number", "eq": 1},
                "all": [{"field": "ticket.number", "eq": 2}],
            },
            "ticket.created",
            "if.not: unknown key; expected one of: all",
        ),
        (
            {"not": [{"field": "ticket.number", "eq": 1}]},
            "ticket.created",
            'if.not: expected a condition: { field = "…", <operator> = … }, { all = [...] },'
            " { any = [...] } or { not = {...} }, got a list",
        ),
    ],
)
def test_a_condition_is_checked_at_load(condition: Any, on: Any, expected: str) -> None:
    assert flaws_of(condition, on) == [expected]


def test_every_broken_condition_of_a_tree_is_reported() -> None:
    flaws = flaws_of(
        {
            "all": [
                {"field": "ticket.number", "gt": "1"},
                {"any": [{"field": "ticket.subject", "matches": "["}]},
                {"not": {"field": "nope", "eq": 1}},
            ]
        }
    )
    assert [f.split(":")[0] for f in flaws] == [
        "if.all[1].gt",
        "if.all[2].any[1].matches",
        "if.all[3].not.field",
    ]


def test_every_field_has_one_kind_whatever_the_event() -> None:
    for spec in EVENTS.values():
        for path, field in spec.fields.items():
            assert fields_of(None)[path].kind == field.kind, (spec.name, path)


def test_rules_react_only_to_events_the_core_emits() -> None:
    assert set(EVENTS) <= events.ALL
    assert events.MESSAGE_EDITED not in EVENTS


def test_the_catalogue_matches_the_data_the_core_builds() -> None:
    data = ticket_data()
    for path, field in fields_of([events.MESSAGE_RECEIVED]).items():
        group, key = path.split(".")
        assert key in data[group], path
        value = data[group][key]
        if field.kind is Kind.CHOICE and value is not None:
            assert value in field.choices, path


def test_every_operator_accepts_some_kind_and_every_kind_some_operator() -> None:
    assert all(op.kinds for op in OPERATORS.values())
    assert {kind for op in OPERATORS.values() for kind in op.kinds} == set(Kind)


def test_the_reference_documents_every_event_field_and_operator() -> None:
    text = reference()
    for name in EVENTS:
        assert f"| `{name}` |" in text
    for path in fields_of(None):
        assert f"| `{path}` |" in text
    for name in OPERATORS:
        assert f"| `{name}` |" in text
    assert "| `ticket.status` | choice: new, open, waiting, closed |" in text
