"""Loading rule files: folders, order, and every problem with its file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.rules import RulesError, RuleSet, load_rules, parse_rules
from core.rules.actions import (
    Reply,
)

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
        " ticket.closed, ticket.reopened, button.pressed, note.added, rating.requested,"
        " rating.received, rating.commented, survey.submitted, message.sent,"
        " sla.reaction_warning, sla.resolution_warning, sla.reaction_breached,"
        " sla.resolution_breached"
    )
    ticket_fields = (
        "ticket.id, ticket.number, ticket.subject, ticket.status, ticket.priority,"
        " ticket.tags, ticket.assignee_id, ticket.assignee, ticket.created_at"
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
            " ticket.reopened, button.pressed, note.added, rating.requested, rating.received,"
            " rating.commented, survey.submitted, message.sent, sla.reaction_warning,"
            " sla.resolution_warning, sla.reaction_breached, sla.resolution_breached",
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
