"""Rule actions and durations: each validates when well formed and says what was expected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.rules import parse_duration
from core.rules.actions import (
    AddTags,
    Assign,
    CreateTask,
    Note,
    Notify,
    Reply,
    SendEmail,
    SetPriority,
    SetStatus,
    Stop,
    Webhook,
)
from core.rules.problems import Invalid
from core.rules.schema import RuleFlaws, read_rule


def action_flaws(action: Any) -> list[str]:
    with pytest.raises(RuleFlaws) as caught:
        read_rule({"id": "r", "on": "ticket.closed", "then": [action]})
    return [str(f) for f in caught.value.flaws]


# Durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("30d", timedelta(days=30)),
        ("719h60m", timedelta(days=30)),
    ],
)
def test_a_duration_is_days_hours_minutes_seconds(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("soon", 'expected a duration like "90s", "30m", "2h", "1d", got "soon"'),
        ("", 'expected a duration like "90s", "30m", "2h", "1d", got ""'),
        ("1.5h", 'expected a duration like "90s", "30m", "2h", "1d", got "1.5h"'),
        ("30m1h", 'expected a duration like "90s", "30m", "2h", "1d", got "30m1h"'),
        ("2 h", 'expected a duration like "90s", "30m", "2h", "1d", got "2 h"'),
        ("-1h", 'expected a duration like "90s", "30m", "2h", "1d", got "-1h"'),
        (90, 'expected a duration like "90s", "30m", "2h", "1d", got 90'),
        ("0s", 'expected a duration above zero and at most 30d, got "0s"'),
        ("30d1s", 'expected a duration above zero and at most 30d, got "30d1s"'),
    ],
)
def test_a_bad_duration_says_what_was_expected(raw: Any, expected: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_duration(raw)
    assert str(caught.value) == expected


# Actions


def test_every_action_validates_when_well_formed() -> None:
    rule = read_rule(
        {
            "id": "all-actions",
            "on": "ticket.closed",
            "then": [
                {
                    "action": "reply",
                    "text": {"en": "Rate us", "ru": "Оцените нас"},
                    "buttons": [{"label": "👍", "payload": "rate:up"}],
                },
                {"action": "send_email", "subject": "#{{ ticket.number }}", "text": "Closed."},
                {"action": "assign", "agent": "anna.petrova"},
                {"action": "assign", "round_robin": ["anna", "boris"]},
                {"action": "set_status", "status": "waiting"},
                {"action": "set_priority", "priority": "urgent"},
                {"action": "tag", "tags": ["vip", "закрыто", "vip"]},
                {"action": "note", "text": "Closed by a rule"},
                {"action": "notify", "to": "agent:boris", "text": "Look at #{{ ticket.number }}"},
                {"action": "notify", "to": "assignee", "text": "Closed"},
                {
                    "action": "create_task",
                    "for": "assignee",
                    "title": "Call {{ customer.name }}",
                    "description": "About #{{ ticket.number }}",
                    "due_in": "1d",
                },
                {
                    "action": "webhook",
                    "url": "https://crm.example.com/hook",
                    "timeout": 2.5,
                    "retries": 0,
                    "payload": {"source": "otklik", "ids": [1, 2], "nested": {"ok": True}},
                },
                {"action": "stop"},
            ],
        }
    )
    kinds = [type(a) for a in rule.actions]
    assert kinds == [
        Reply,
        SendEmail,
        Assign,
        Assign,
        SetStatus,
        SetPriority,
        AddTags,
        Note,
        Notify,
        Notify,
        CreateTask,
        Webhook,
        Stop,
    ]
    reply, email, one, turns, status, priority, tags, note, notify, _, task, hook, _ = rule.actions
    assert reply.buttons[0].label.render({}, "en") == "👍"
    assert email.subject.render({"ticket": {"number": 9}}, "en") == "#9"
    assert (one.agent, one.round_robin) == ("anna.petrova", None)
    assert turns.round_robin == ("anna", "boris")
    assert (status.status, priority.priority) == ("waiting", "urgent")
    assert tags.tags == ("vip", "закрыто")
    assert note.text.render({}, "ru") == "Closed by a rule"
    assert notify.to == "agent:boris"
    assert (task.owner, task.due_in) == ("assignee", timedelta(days=1))
    assert task.description is not None
    assert (hook.timeout, hook.retries, hook.payload["ids"]) == (2.5, 0, [1, 2])


def test_a_webhook_has_defaults() -> None:
    rule = read_rule(
        {
            "id": "w",
            "on": "ticket.closed",
            "then": [{"action": "webhook", "url": "http://10.0.0.5:8080/x"}],
        }
    )
    (hook,) = rule.actions
    assert (hook.timeout, hook.retries, hook.payload) == (10.0, 3, {})


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"action": "reply"}, ["then[1].text: required"]),
        (
            {"action": "reply", "text": "x", "buttons": {"label": "a", "payload": "b"}},
            ["then[1].buttons: expected a list, got a table"],
        ),
        (
            {"action": "reply", "text": "x", "buttons": ["a"]},
            ['then[1].buttons[1]: expected a table, got "a"'],
        ),
        (
            {"action": "reply", "text": "x", "buttons": [{"label": "a"}]},
            ["then[1].buttons[1].payload: required"],
        ),
        (
            {"action": "reply", "text": "x", "buttons": [{"label": "a", "payload": "p" * 65}]},
            [
                "then[1].buttons[1].payload: expected 1-64 of A-Z a-z 0-9 _ . : = -,"
                f' got "{"p" * 65}"'
            ],
        ),
        ({"action": "send_email", "subject": "x"}, ["then[1].text: required"]),
        (
            {"action": "send_email", "subject": "x", "text": "y", "html": "<b>"},
            ["then[1].html: unknown key; expected one of: action, subject, text"],
        ),
        (
            {"action": "assign"},
            ['then[1]: expected either agent = "login" or round_robin = ["login", …]'],
        ),
        (
            {"action": "assign", "agent": "anna", "round_robin": ["boris"]},
            ['then[1]: expected either agent = "login" or round_robin = ["login", …]'],
        ),
        (
            {"action": "assign", "agent": "A"},
            ['then[1].agent: expected an agent\'s login (2-100 of a-z 0-9 . _ -), got "A"'],
        ),
        (
            {"action": "assign", "round_robin": []},
            ["then[1].round_robin: expected a non-empty list of agents' logins, got []"],
        ),
        (
            {"action": "assign", "round_robin": ["anna", "anna"]},
            ['then[1].round_robin[2]: "anna" is listed twice'],
        ),
        (
            {"action": "assign", "to": "me"},
            ["then[1].to: unknown key; expected one of: action, agent, round_robin"],
        ),
        (
            {"action": "set_status", "status": "new"},
            ['then[1].status: expected one of "open", "waiting", "closed", got "new"'],
        ),
        (
            {"action": "set_priority", "priority": "HIGH"},
            ['then[1].priority: expected one of "low", "normal", "high", "urgent", got "HIGH"'],
        ),
        (
            {"action": "tag", "tags": "vip"},
            ['then[1].tags: expected a non-empty list of tags, got "vip"'],
        ),
        (
            {"action": "tag", "tags": ["vip", "a b"]},
            ['then[1].tags[2]: expected a tag: 1-50 letters, digits, _ . : -, got "a b"'],
        ),
        ({"action": "note", "text": ""}, ['then[1].text: expected a non-empty text, got ""']),
        (
            {"action": "notify", "to": "boss", "text": "x"},
            ['then[1].to: expected "assignee", "supervisors" or "agent:<login>", got "boss"'],
        ),
        (
            {"action": "notify", "to": "agent:", "text": "x"},
            ['then[1].to: expected "assignee", "supervisors" or "agent:<login>", got "agent:"'],
        ),
        ({"action": "create_task", "title": "x"}, ["then[1].for: required"]),
        (
            {"action": "create_task", "for": "supervisors", "title": "x", "due_in": "0s"},
            [
                'then[1].for: expected "assignee", "supervisor" or "agent:<login>",'
                ' got "supervisors"',
                'then[1].due_in: expected a duration above zero and at most 30d, got "0s"',
            ],
        ),
        (
            {"action": "create_task", "for": "assignee", "title": "x", "description": 5},
            ['then[1].description: expected a text or a table { en = "…", ru = "…" }, got 5'],
        ),
        (
            {"action": "webhook", "url": "http://", "timeout": 0, "retries": 11, "payload": [1]},
            [
                'then[1].url: expected an address starting with "http://" or "https://", got "http://"',
                "then[1].timeout: expected seconds above 0 and at most 30, got 0",
                "then[1].retries: expected a whole number from 0 to 10, got 11",
                "then[1].payload: expected a table, got a list",
            ],
        ),
        (
            {"action": "webhook", "url": "ftp://example.com"},
            [
                'then[1].url: expected an address starting with "http://" or "https://", got "ftp://example.com"'
            ],
        ),
        (
            {"action": "webhook", "url": "https://x.example", "timeout": True},
            ["then[1].timeout: expected seconds above 0 and at most 30, got true"],
        ),
        (
            {"action": "webhook", "url": "https://x.example", "retries": 1.5},
            ["then[1].retries: expected a whole number from 0 to 10, got 1.5"],
        ),
        (
            {
                "action": "webhook",
                "url": "https://x.example",
                "payload": {"at": {"when": timedelta(1)}},
            },
            [
                "then[1].payload.at.when: expected a text, number, boolean, list or table,"
                " got timedelta"
            ],
        ),
        ({"action": "stop", "now": True}, ["then[1].now: unknown key; expected one of: action"]),
        (
            {"action": "request_callback"},
            [
                'then[1].action: unknown action "request_callback"; expected one of: reply,'
                " send_email, assign, set_status, set_priority, tag, note, notify, create_task,"
                " webhook, request_rating, ask_comment, request_survey, stop"
            ],
        ),
        (
            {"text": "hello"},
            [
                "then[1].action: required: one of reply, send_email, assign, set_status,"
                " set_priority, tag, note, notify, create_task, webhook, request_rating,"
                " ask_comment, request_survey, stop"
            ],
        ),
        ("reply", ['then[1]: expected an action like { action = "reply", … }, got "reply"']),
    ],
)
def test_a_bad_action_says_what_was_expected(action: Any, expected: list[str]) -> None:
    assert action_flaws(action) == expected
