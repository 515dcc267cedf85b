"""Support levels: the first level whose conditions hold, else Default; the Default rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from core.inboxes import InboxRef
from core.rules.problems import Invalid
from core.sla import DEFAULT, SupportLevels, read_level
from core.work import Facts


def level(name: str, condition: dict[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
    table = {"name": name, "calendar": "office", "reaction": "1h", "resolution": "1d", **keys}
    return table if condition is None else {**table, "if": condition}


VIP = level("VIP", {"field": "ticket.tags", "contains": "vip"}, reaction="15m")
URGENT = level("Urgent", {"field": "ticket.priority", "in": ["high", "urgent"]}, reaction="30m")
TELEGRAM = level(
    "Telegram partners",
    {
        "all": [
            {"field": "inbox.channel", "eq": "telegram"},
            {"field": "customer.email", "matches": "@partner\\.example$"},
        ]
    },
)
LEVELS = SupportLevels.of(
    [read_level(t) for t in (VIP, URGENT, TELEGRAM, level(DEFAULT, resolution="3d"))], ["office"]
)


def facts(**changes: Any) -> dict[str, Any]:
    """A ticket's facts as the core gives them to rules (ticket.created's data)."""
    base = Facts(
        id=1,
        number=42,
        subject="Printer is on fire",
        status="new",
        priority="normal",
        tags=(),
        created_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
        inbox=InboxRef(3, "support", "webchat"),
        assignee_id=None,
        assignee_name=None,
        customer_id=7,
        customer_name="Anna Petrova",
        customer_email=None,
    )
    fields = {**base.__dict__, **changes}
    return Facts(**fields).snapshot()


@pytest.mark.parametrize(
    ("ticket", "expected"),
    [
        (facts(), DEFAULT),
        (facts(tags=("vip",)), "VIP"),
        (facts(priority="urgent"), "Urgent"),
        (facts(priority="high", tags=("printer", "vip")), "VIP"),  # the first that matches
        (
            facts(inbox=InboxRef(4, "bot", "telegram"), customer_email="x@partner.example"),
            "Telegram partners",
        ),
        (facts(inbox=InboxRef(4, "bot", "telegram"), customer_email="x@other.example"), DEFAULT),
        (facts(customer_email="x@partner.example"), DEFAULT),
    ],
)
def test_the_first_matching_level_applies_else_default(ticket: dict[str, Any], expected: str):
    assert LEVELS.for_ticket(ticket).name == expected


def test_levels_keep_their_times_as_working_durations():
    chosen = LEVELS.for_ticket(facts(tags=("vip",)))
    assert (chosen.calendar, chosen.reaction, chosen.resolution) == (
        "office",
        timedelta(minutes=15),
        timedelta(days=1),
    )
    assert LEVELS.for_ticket({}).resolution == timedelta(days=3)  # facts missing: Default


def test_default_may_come_anywhere_in_the_order():
    levels = SupportLevels.of([read_level(level(DEFAULT)), read_level(VIP)], ["office"])
    assert levels.for_ticket(facts(tags=("vip",))).name == "VIP"
    assert levels.for_ticket(facts()).name == DEFAULT


def test_no_levels_is_no_sla():
    none = SupportLevels.of([], [])
    with pytest.raises(LookupError):
        none.for_ticket(facts())


@pytest.mark.parametrize(
    ("tables", "path", "message"),
    [
        ([VIP], (), 'expected a level named "Default"'),
        ([level(DEFAULT, {"field": "ticket.priority", "eq": "high"})], (0, "if"), 'no "if"'),
        ([level("Plain"), level(DEFAULT)], (0, "if"), 'only "Default" may go without'),
        ([VIP, VIP, level(DEFAULT)], (1, "name"), '"VIP" is used twice'),
        ([level(DEFAULT, calendar="shop")], (0, "calendar"), 'unknown calendar "shop"'),
    ],
)
def test_levels_that_break_the_rules_are_refused(tables, path, message: str):
    with pytest.raises(Invalid) as caught:
        SupportLevels.of([read_level(t) for t in tables], ["office"])
    assert caught.value.path == path and message in str(caught.value)


@pytest.mark.parametrize(
    ("table", "location", "message"),
    [
        (level(DEFAULT, reaction="soon"), ("reaction",), "expected a duration"),
        ({"name": DEFAULT, "calendar": "office", "reaction": "1h"}, ("resolution",), "required"),
        (level(DEFAULT, colour="red"), (), "unknown key"),
        (level("X", {"field": "rating.value", "eq": 1}), ("if", "<field>"), "is not a field"),
        (level("X", {"field": "ticket.priority", "eq": "hgh"}), ("if", "<field>"), "expected one"),
        (level("", {"field": "ticket.tags", "contains": "a"}), ("name",), "non-empty text"),
    ],
)
def test_a_level_table_is_checked_like_a_rule(table: dict, location: tuple, message: str):
    with pytest.raises(ValidationError) as caught:
        read_level(table)
    error = caught.value.errors()[0]
    assert error["loc"] == location and message in str(caught.value)
