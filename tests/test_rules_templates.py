"""Rule texts: sandboxed Jinja2 over event data, ru/en variants, checked when rules load."""

from __future__ import annotations

from typing import Any

import pytest

from core.rules.catalogue import fields_of
from core.rules.problems import Invalid
from core.rules.schema import RuleFlaws, read_rule
from core.rules.templates import RenderError, Text, compile_text

DATA = {
    "ticket": {"number": 42, "subject": "Printer", "status": "closed"},
    "customer": {"name": "Anna", "email": None},
    "inbox": {"name": "support", "channel": "telegram"},
}


def text(raw: Any, on: str = "ticket.closed") -> Text:
    return compile_text(raw, fields_of([on]))


def load_error(raw: Any, on: str = "ticket.closed") -> str:
    with pytest.raises(Invalid) as caught:
        text(raw, on)
    path = ".".join(str(p) for p in caught.value.path)
    return f"{path}: {caught.value}" if path else str(caught.value)


def test_a_text_renders_over_the_event_data() -> None:
    reply = text(
        "Request #{{ ticket.number }} ({{ ticket.subject }}) is closed, {{ customer.name }}."
    )
    assert reply.render(DATA, "en") == "Request #42 (Printer) is closed, Anna."


def test_the_locale_picks_the_variant() -> None:
    reply = text(
        {"en": "Request #{{ ticket.number }} closed", "ru": "Заявка №{{ ticket.number }} закрыта"}
    )
    assert reply.render(DATA, "ru") == "Заявка №42 закрыта"
    assert reply.render(DATA, "en") == "Request #42 closed"


def test_a_missing_locale_falls_back_to_the_other() -> None:
    assert text({"ru": "Спасибо"}).render(DATA, "en") == "Спасибо"
    assert text({"en": "Thanks"}).render(DATA, "ru") == "Thanks"


def test_a_plain_text_serves_both_locales() -> None:
    reply = text("#{{ ticket.number }}")
    assert reply.sources == {"ru": "#{{ ticket.number }}", "en": "#{{ ticket.number }}"}
    assert reply.render(DATA, "ru") == reply.render(DATA, "en") == "#42"


def test_an_unset_value_renders_empty_not_none() -> None:
    assert text("<{{ customer.email }}>").render(DATA, "en") == "<>"


@pytest.mark.parametrize(
    "source",
    [
        "<{{ customer.email.lower() }}>",
        "<{{ customer.email.split('@')[1].upper() }}>",
        "<{{ ticket.assignee }}>",
        "<{{ ticket.assignee.name.first }}>",
    ],
)
def test_a_missing_value_renders_empty_however_it_is_used(source: str) -> None:
    assert text(source).render(DATA, "en") == "<>"


def test_a_value_of_an_unassigned_agent_renders_empty() -> None:
    greeting = text("Now with {{ agent.name }}.", on="ticket.assigned")
    assert greeting.render({**DATA, "agent": None}, "en") == "Now with ."
    assert greeting.render({**DATA, "agent": {"name": "Boris"}}, "en") == "Now with Boris."


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''|attr('__class__') }}",
        "{{ ticket|attr('__init__') }}{{ (ticket|attr('__class__'))|attr('__mro__') }}",
        "{% set key = '__cla' ~ 'ss__' %}{{ ticket[key] }}",
        "{% set key = '__glo' ~ 'bals__' %}{{ (ticket|attr('items'))[key] }}",
    ],
)
def test_the_sandbox_refuses_python_internals_at_render(source: str) -> None:
    assert text(source).render(DATA, "en") == ""


def test_the_sandbox_keeps_templates_from_changing_the_event_data() -> None:
    data = {**DATA, "message": {"text": "hi", "attachments": []}}
    note = text(
        "{{ message.attachments.append(1) }}{{ (message|attr('update'))(text='x') }}",
        "message.received",
    )
    assert note.render(data, "en") == ""
    assert data["message"] == {"text": "hi", "attachments": []}


def test_a_failing_expression_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        text("{{ ticket.number / 0 }}").render(DATA, "en")
    with pytest.raises(RenderError, match="range"):
        text("{{ range(10 ** 9) | list | length }}").render(DATA, "en")


@pytest.mark.parametrize(
    "source",
    [
        "{% for file in message.attachments %}{{ file.name }} {% endfor %}",
        "{% set n = ticket.number %}#{{ n }}",
        "{{ customer.name.upper() }} {{ ticket['number'] }}",
        "{{ message.text | truncate(10) }} {{ range(3) | list }}",
        "{{ ticket }}",
    ],
)
def test_known_variables_loops_and_methods_pass_the_load_check(source: str) -> None:
    text(source, "message.received")


@pytest.mark.parametrize(
    ("raw", "on", "expected"),
    [
        (
            "Hello {{ custmer.name }}",
            "ticket.closed",
            'unknown variable "custmer"; expected one of: ticket, customer, inbox',
        ),
        (
            "#{{ ticket.numbr }}",
            "ticket.closed",
            'unknown variable "ticket.numbr"; expected one of: ticket.id, ticket.number,'
            " ticket.subject, ticket.status, ticket.priority, ticket.tags, ticket.assignee_id,"
            " ticket.assignee, ticket.created_at",
        ),
        (
            "{{ ticket['numbr'] }}",
            "ticket.closed",
            'unknown variable "ticket.numbr"; expected one of: ticket.id, ticket.number,'
            " ticket.subject, ticket.status, ticket.priority, ticket.tags, ticket.assignee_id,"
            " ticket.assignee, ticket.created_at",
        ),
        (
            "You chose {{ button.payload }}",
            "ticket.closed",
            'unknown variable "button"; expected one of: ticket, customer, inbox',
        ),
        (
            "{{ loop.index }}",
            "ticket.closed",
            'unknown variable "loop"; expected one of: ticket, customer, inbox',
        ),
        (
            {"en": "ok", "ru": "{{ ticket.nomer }}"},
            "ticket.closed",
            'ru: unknown variable "ticket.nomer"; expected one of: ticket.id, ticket.number,'
            " ticket.subject, ticket.status, ticket.priority, ticket.tags, ticket.assignee_id,"
            " ticket.assignee, ticket.created_at",
        ),
        (
            "{{ ''.__class__ }}",
            "ticket.closed",
            'attribute "__class__" is not allowed in templates',
        ),
        (
            "{{ ticket['_secret'] }}",
            "ticket.closed",
            'attribute "_secret" is not allowed in templates',
        ),
        ("Hello {{ customer.name }", "ticket.closed", "not a valid template: unexpected '}'"),
        (
            "Hello {{ customer.name }},\n\nyour request {{ ticket.number }\nbye",
            "ticket.closed",
            "not a valid template (its line 3): unexpected '}'",
        ),
        ("", "ticket.closed", 'expected a non-empty text, got ""'),
        ("  \n", "ticket.closed", 'expected a non-empty text, got "  \\n"'),
        (5, "ticket.closed", 'expected a text or a table { en = "…", ru = "…" }, got 5'),
        ({}, "ticket.closed", 'expected a text or a table { en = "…", ru = "…" }, got {}'),
        ({"en": "ok", "de": "gut"}, "ticket.closed", "de: unknown locale; expected ru or en"),
        ({"en": ["ok"]}, "ticket.closed", "en: expected a non-empty text, got a list"),
    ],
)
def test_a_text_is_checked_at_load(raw: Any, on: str, expected: str) -> None:
    assert load_error(raw, on) == expected


def test_a_rule_checks_its_texts_against_its_events() -> None:
    rule = {
        "id": "r",
        "on": ["button.pressed", "message.received"],
        "then": [
            {"action": "reply", "text": "Got {{ message.text }}"},
            {"action": "note", "text": "Pressed {{ button.payload }}"},
        ],
    }
    with pytest.raises(RuleFlaws) as caught:
        read_rule(rule)
    assert [str(f) for f in caught.value.flaws] == [
        'then[2].text: unknown variable "button"; expected one of: ticket, customer, inbox, message'
    ]


def test_a_button_label_is_one_to_sixty_four_characters() -> None:
    def label_flaws(label: Any) -> list[str]:
        reply = {"action": "reply", "text": "?", "buttons": [{"label": label, "payload": "p"}]}
        with pytest.raises(RuleFlaws) as caught:
            read_rule({"id": "r", "on": "ticket.closed", "then": [reply]})
        return [str(f) for f in caught.value.flaws]

    assert label_flaws("x" * 65) == ["then[1].buttons[1].label: expected 1-64 characters, got 65"]
    assert label_flaws({"en": "Yes", "ru": "Д" * 70}) == [
        "then[1].buttons[1].label.ru: expected 1-64 characters, got 70"
    ]
    assert label_flaws("{{ button.label }}") == [
        'then[1].buttons[1].label: unknown variable "button"; expected one of: ticket,'
        " customer, inbox"
    ]
