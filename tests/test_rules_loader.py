"""Loading rule files: the format, every action, durations, and errors with file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.rules import RulesError, RuleSet, load_rules, parse_duration, parse_rules
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
from core.rules.locator import Locator
from core.rules.problems import Invalid
from core.rules.schema import RuleFlaws, read_rule

GOOD = Path(__file__).parent / "rules" / "good"
HEAD = '[[rule]]\nid = "a"\non = "ticket.closed"\n'
STOP = 'then = [{ action = "stop" }]\n'


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(directory: Path | str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(directory)
    return [str(p) for p in caught.value.problems]


def action_flaws(action: Any) -> list[str]:
    with pytest.raises(RuleFlaws) as caught:
        read_rule({"id": "r", "on": "ticket.closed", "then": [action]})
    return [str(f) for f in caught.value.flaws]


# The shipped-style examples in tests/rules/good


def test_rules_load_in_file_name_order_then_file_order() -> None:
    rules = load_rules(GOOD)
    assert [r.id for r in rules] == [
        "acknowledge",
        "urgent-to-supervisors",
        "thank-on-close",
        "ask-after-close",
        "not-solved",
        "old-webhook",
    ]


def test_for_event_gives_the_enabled_rules_of_an_event_in_order() -> None:
    rules = load_rules(GOOD)
    assert [r.id for r in rules.for_event("ticket.closed")] == ["thank-on-close", "ask-after-close"]
    assert [r.id for r in rules.for_event("message.received")] == ["urgent-to-supervisors"]
    assert rules.for_event("ticket.assigned") == ()
    assert rules.get("old-webhook") is not None and not rules.get("old-webhook").enabled


def test_a_loaded_rule_carries_its_delay_cancellation_origin_and_actions() -> None:
    rules = load_rules(GOOD)
    ask = rules.get("ask-after-close")
    assert ask is not None
    assert ask.delay == timedelta(hours=2)
    assert ask.cancel_on == ("ticket.reopened",)
    assert rules.cancelled_by("ticket.reopened") == (ask,)
    assert str(rules.origin("ask-after-close")) == f"{GOOD / '20-close.toml'}:8"
    (reply,) = ask.actions
    assert isinstance(reply, Reply)
    assert [b.payload for b in reply.buttons] == ["solved:yes", "solved:no"]
    assert [b.label.render({}, "ru") for b in reply.buttons] == ["Да", "Нет"]
    assert ask.matches({"inbox": {"channel": "webchat"}})
    assert not ask.matches({"inbox": {"channel": "email"}})


def test_a_loaded_text_renders_for_the_event() -> None:
    (reply,) = load_rules(GOOD).get("acknowledge").actions
    data = {"ticket": {"number": 17}}
    assert reply.text.render(data, "ru") == "Ваша заявка №17 зарегистрирована."
    assert reply.text.render(data, "en") == "Your request #17 is registered."


def test_a_loaded_rule_cannot_be_changed() -> None:
    rule = load_rules(GOOD).get("acknowledge")
    with pytest.raises(ValidationError):
        rule.enabled = False  # type: ignore[misc]


# Folders and files


def test_an_empty_folder_is_an_empty_rule_set(tmp_path: Path) -> None:
    rules = load_rules(tmp_path)
    assert isinstance(rules, RuleSet) and len(rules) == 0
    assert rules.for_event("ticket.created") == ()


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: expected a folder of *.toml files"
    ]


def test_only_toml_files_count_and_editor_files_are_ignored(tmp_path: Path) -> None:
    rule = '[[rule]]\nid = "{}"\non = "ticket.created"\nthen = [{{ action = "stop" }}]\n'
    write(tmp_path, "b.toml", rule.format("b"))
    write(tmp_path, "a.toml", rule.format("a"))
    write(tmp_path, "notes.txt", "not a rule")
    write(tmp_path, ".#a.toml", "broken [[")
    write(tmp_path / "old.toml", "c.toml", "broken [[")  # a folder named like a rule file
    assert [r.id for r in load_rules(tmp_path)] == ["a", "b"]


def test_names_order_as_text_so_numbered_files_need_zero_padding(tmp_path: Path) -> None:
    rule = '[[rule]]\nid = "{}"\non = "ticket.created"\nthen = [{{ action = "stop" }}]\n'
    for name in ("9-late.toml", "10-early.toml", "02-first.toml"):
        write(tmp_path, name, rule.format(name.removesuffix(".toml")))
    assert [r.id for r in load_rules(tmp_path)] == ["02-first", "10-early", "9-late"]


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "10-cp1251.toml").write_bytes('id = "привет"'.encode("cp1251"))
    assert problems(tmp_path) == [
        f"{tmp_path / '10-cp1251.toml'}: expected UTF-8 text: invalid continuation byte"
    ]


def test_parse_rules_checks_texts_not_yet_written() -> None:
    rules = parse_rules(
        {
            "rules/20-b.toml": HEAD.replace('"a"', '"b"') + STOP,
            "rules/10-a.toml": HEAD + STOP,
        }
    )
    assert [r.id for r in rules] == ["a", "b"]
    with pytest.raises(RulesError) as caught:
        parse_rules({"rules/10-a.toml": HEAD})
    assert str(caught.value) == 'rules/10-a.toml:1: rule "a": then: required'


# Errors, each with its file and line


REALISTIC = """\
# Rules after a ticket closes.

[[rule]]
id = "thank-on-close"
on = "ticket.closed"
then = [
  { action = "reply", text = "Thanks, {{ customer.name }}!" },
]

[[rule]]
id = "rate-after-close"
on = "ticket.closed"
delay = "soon"
cancel_on = "ticket.reopend"
if = { all = [
  { field = "inbox.channel", eq = "telegram" },
  { field = "ticket.priority", gt = "normal" },
] }
then = [
  { action = "reply", text = "How did we do on #{{ ticket.numbr }}?", buttons = [
    { label = "Good", payload = "rate:good" },
    { label = "Bad", payload = "rate bad" },
  ] },
  { action = "assign", to = "me" },
]

[[rule]]
on = "ticket.closed"
then = []

[[rule]]
id = "Escalate"
on = "ticket.status_changed"
then = [{ action = "notify", to = "supervisors", text = "{{ status.new }}" }]

[[rule]]
id = "ask-again"
on = "button.pressed"
delay = "1h"

[rule.if]
field = "button.payload"
matches = "rate:(bad"

[[rule.then]]
action = "reply"
text = "Sorry!"

[[rule.then]]
action = "webhook"
url = "crm.example.com"
"""


def test_every_problem_of_a_realistic_file_names_its_line(tmp_path: Path) -> None:
    write(tmp_path / "dispatcher_rules", "10-close.toml", REALISTIC)
    file = f"{tmp_path}/dispatcher_rules/10-close.toml"
    events = (
        "ticket.created, message.received, ticket.assigned, ticket.status_changed,"
        " ticket.closed, ticket.reopened, button.pressed, note.added, message.sent"
    )
    ticket_fields = (
        "ticket.id, ticket.number, ticket.subject, ticket.status, ticket.priority,"
        " ticket.assignee_id, ticket.assignee, ticket.created_at"
    )
    assert problems(tmp_path / "dispatcher_rules") == [
        f'{file}:13: rule "rate-after-close": delay: expected a duration like "90s", "30m",'
        ' "2h", "1d", got "soon"',
        f'{file}:14: rule "rate-after-close": cancel_on: unknown event "ticket.reopend";'
        f" expected one of: {events}",
        f'{file}:17: rule "rate-after-close": if.all[2].gt: not an operator for'
        " ticket.priority (choice); expected one of: eq, ne, in, not_in, is_set",
        f'{file}:20: rule "rate-after-close": then[1].text: unknown variable "ticket.numbr";'
        f" expected one of: {ticket_fields}",
        f'{file}:22: rule "rate-after-close": then[1].buttons[2].payload: expected 1-64 of'
        ' A-Z a-z 0-9 _ . : = -, got "rate bad"',
        f'{file}:24: rule "rate-after-close": then[2].to: unknown key; expected one of:'
        " action, agent, round_robin",
        f"{file}:27: rule #3: id: required",
        f"{file}:29: rule #3: then: expected a non-empty list of actions, got []",
        f'{file}:32: rule #4: id: expected 1-64 of a-z 0-9 _ . -, got "Escalate"',
        f'{file}:43: rule "ask-again": if.matches: expected a regular expression, got'
        ' "rate:(bad": missing ), unterminated subpattern at position 5',
        f'{file}:51: rule "ask-again": then[2].url: expected an address starting with'
        ' "http://" or "https://", got "crm.example.com"',
    ]


def test_the_example_error_of_the_issue_reads_as_promised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "dispatcher_rules",
        "10-close.toml",
        '# After close\n\n[[rule]]\nid = "rate-after-close"\non = "ticket.closed"\n'
        '# wait a little\ndelay = "soon"\nthen = [{ action = "stop" }]\n',
    )
    assert problems("dispatcher_rules") == [
        'dispatcher_rules/10-close.toml:7: rule "rate-after-close": delay: expected a duration'
        ' like "90s", "30m", "2h", "1d", got "soon"'
    ]


def test_a_duplicate_id_in_another_file_names_both_places(tmp_path: Path) -> None:
    rule = '\n[[rule]]\nid = "thanks"\non = "ticket.closed"\nthen = [{ action = "stop" }]\n'
    write(tmp_path, "10-a.toml", "# first" + rule)
    write(tmp_path, "20-b.toml", "# second\n\n" + rule)
    assert problems(tmp_path) == [
        f'{tmp_path}/20-b.toml:5: rule "thanks": id: "thanks" is already the id of the rule at'
        f" {tmp_path}/10-a.toml:2"
    ]


def test_a_duplicate_id_is_found_even_when_the_first_rule_is_broken(tmp_path: Path) -> None:
    write(
        tmp_path,
        "10-a.toml",
        '[[rule]]\nid = "x"\non = "ticket.closed"\nthen = []\n\n'
        '[[rule]]\nid = "x"\non = "ticket.closed"\nthen = [{ action = "stop" }]\n',
    )
    assert problems(tmp_path) == [
        f'{tmp_path}/10-a.toml:4: rule "x": then: expected a non-empty list of actions, got []',
        f'{tmp_path}/10-a.toml:7: rule "x": id: "x" is already the id of the rule at'
        f" {tmp_path}/10-a.toml:1",
    ]


def test_a_toml_syntax_error_names_the_line_tomllib_found(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", '[[rule]]\nid = "a"\non = ticket.closed\n')
    assert problems(tmp_path) == [
        f"{tmp_path}/10-a.toml:3: not valid TOML: Invalid value (column 6)"
    ]


def test_a_rule_with_an_unknown_key_and_a_bad_id_is_named_by_number(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", '[[rule]]\nid = "Bad Id"\non = "ticket.closed"\nwhen = 1\n' + STOP)
    assert problems(tmp_path) == [
        f"{tmp_path}/10-a.toml:4: rule #1: when: unknown key; expected one of: id, on, enabled,"
        " delay, cancel_on, if, then"
    ]


def test_an_empty_rule_names_every_required_key(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", "# nothing yet\n[[rule]]\n")
    assert problems(tmp_path) == [
        f"{tmp_path}/10-a.toml:2: rule #1: {key}: required" for key in ("id", "on", "then")
    ]


def test_problems_of_every_file_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", "[[rule]\n")
    write(
        tmp_path,
        "20-b.toml",
        '[[rule]]\nid = "b"\non = "ticket.closd"\nthen = [{ action = "stop" }]\n',
    )
    found = problems(tmp_path)
    assert [p.split(": ")[0] for p in found] == [
        f"{tmp_path}/10-a.toml:1",
        f"{tmp_path}/20-b.toml:3",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[rule]\nid = "a"\n', "1: rule: expected [[rule]] tables (two brackets), got a table"),
        (
            'title = "mine"\n\n' + HEAD + STOP,
            "1: title: unknown key; expected only [[rule]] tables",
        ),
        (
            '[[rule]]\non = "ticket.closed"\nthen = [{ action = "stop" }]\n',
            "1: rule #1: id: required",
        ),
        (
            HEAD + STOP + 'when = "always"\n',
            '5: rule "a": when: unknown key; expected one of: id, on, enabled, delay, cancel_on,'
            " if, then",
        ),
        (
            HEAD + 'cancel_on = "ticket.reopened"\n' + STOP,
            '4: rule "a": cancel_on: only allowed with delay: it cancels a pending delayed run',
        ),
        (
            '[[rule]]\nid = "a"\non = ["ticket.closed", "ticket.closed"]\n' + STOP,
            '3: rule "a": on[2]: "ticket.closed" is listed twice',
        ),
        (
            '[[rule]]\nid = "a"\non = "message.edited"\nthen = [{ action = "stop" }]\n',
            '3: rule "a": on: unknown event "message.edited"; expected one of: ticket.created,'
            " message.received, ticket.assigned, ticket.status_changed, ticket.closed,"
            " ticket.reopened, button.pressed, note.added, message.sent",
        ),
        (
            '[[rule]]\nid = "a"\non = []\nthen = [{ action = "stop" }]\n',
            '3: rule "a": on: expected an event name or a list of them, got []',
        ),
        (
            HEAD + 'enabled = "no"\n' + STOP,
            '4: rule "a": enabled: expected true or false, got "no"',
        ),
        (
            '[[rule]]\nid = "a"\non = "ticket.closed"\nthen = { action = "stop" }\n',
            '4: rule "a": then: expected a non-empty list of actions, got a table',
        ),
    ],
)
def test_a_rule_file_problem_reads_file_line_rule_key_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    write(tmp_path, "10-a.toml", text)
    assert problems(tmp_path) == [f"{tmp_path}/10-a.toml:{expected}"]


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
            {"action": "request_rating"},
            [
                'then[1].action: unknown action "request_rating"; expected one of: reply,'
                " send_email, assign, set_status, set_priority, tag, note, notify, create_task,"
                " webhook, stop"
            ],
        ),
        (
            {"text": "hello"},
            [
                "then[1].action: required: one of reply, send_email, assign, set_status,"
                " set_priority, tag, note, notify, create_task, webhook, stop"
            ],
        ),
        ("reply", ['then[1]: expected an action like { action = "reply", … }, got "reply"']),
    ],
)
def test_a_bad_action_says_what_was_expected(action: Any, expected: list[str]) -> None:
    assert action_flaws(action) == expected


# The locator behind the line numbers


LAYOUTS = """\
# header comment with [[rule]] in it
[[rule]]
id = "a"
text = \"\"\"
[[rule]] inside a string
\"\"\"
then = [
  { action = "reply", text = 'x' },  # a comment { [
  { action = "note", "text" = "y" },
]

[[rule]]
id = "b"

[rule.if]
any = [{ field = "a", eq = 1 }, { field = "b", eq = 2 }]

[[rule.then]]
action = "reply"
buttons = [
  { label = "A", payload = "a" },
  { label = "B", payload = "b" },
]

[[rule.then]]
action = "webhook"

[rule.then.payload]
key = 1
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("rule", 0), 2),
        (("rule", 0, "id"), 3),
        (("rule", 0, "then", 0, "text"), 8),
        (("rule", 0, "then", 1, "text"), 9),
        (("rule", 1), 12),
        (("rule", 1, "if"), 15),
        (("rule", 1, "if", "any", 1, "eq"), 16),
        (("rule", 1, "then", 0), 18),
        (("rule", 1, "then", 0, "buttons", 1, "payload"), 22),
        (("rule", 1, "then", 1, "payload", "key"), 29),
        (("rule", 1, "delay"), 12),  # not written: the rule's own line
        (("rule", 0, "then", 7), 7),  # beyond the list: the list's line
    ],
)
def test_the_locator_finds_keys_however_the_toml_is_written(
    path: tuple[Any, ...], line: int
) -> None:
    assert Locator(LAYOUTS).line(path) == line
