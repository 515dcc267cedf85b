"""What rules can see and say: every event with the fields of its data, every operator.

This is the one table that rule validation, condition matching, template checks and the
admins' documentation all read. A field is a dotted path into an event's data
(``ticket.priority`` is ``event.data["ticket"]["priority"]``) with a kind; an operator names the
kinds it accepts and the operand it takes. A later issue adds an event (``rating.received``)
by adding one entry to ``EVENTS`` built from the groups below, and an operator by adding one
entry to ``OPERATORS`` and its test to the conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

from core import events as ev
from core.models import Direction, Priority, Role, TicketStatus


class Kind(StrEnum):
    """What a field holds, which decides the operators and operands it takes."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # stored as ISO 8601 text in the data
    CHOICE = "choice"  # a text from a fixed list
    LIST = "list"
    TABLE = "table"  # values by key, for texts and webhooks; conditions only ask is_set


class Operand(StrEnum):
    """What an operator is compared with, as written after it in a condition."""

    VALUE = "a value of the field's kind"
    VALUES = "a list of values of the field's kind"
    ITEM = "a text"
    PATTERN = "a regular expression"
    FLAG = "true or false"


@dataclass(frozen=True)
class Field:
    """A value in an event's data that conditions and texts can read."""

    path: str
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    item_key: str | None = None  # a list of tables is compared by this key of its items

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


@dataclass(frozen=True)
class Operator:
    """A comparison a condition can make; its test lives in conditions.py."""

    name: str
    kinds: frozenset[Kind]
    operand: Operand
    doc: str


@dataclass(frozen=True)
class EventSpec:
    """An event rules can react to, and the fields its data has."""

    name: str
    doc: str
    fields: Mapping[str, Field]


def _values(enum: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(member) for member in enum)


def _group(prefix: str, *fields: Field) -> tuple[Field, ...]:
    return tuple(replace(f, path=f"{prefix}.{f.path}") for f in fields)


TICKET = _group(
    "ticket",
    Field("id", Kind.NUMBER, "the ticket's internal id"),
    Field("number", Kind.NUMBER, "the number customers see: #N"),
    Field("subject", Kind.TEXT, "the subject: the start of the first message"),
    Field("status", Kind.CHOICE, "the status after the event", _values(TicketStatus)),
    Field("priority", Kind.CHOICE, "the priority", _values(Priority)),
    Field("tags", Kind.LIST, "the ticket's tags; contains compares one tag"),
    Field("assignee_id", Kind.NUMBER, "the assigned agent's id; unset when nobody is"),
    Field("assignee", Kind.TEXT, "the assigned agent's name; unset when nobody is"),
    Field("created_at", Kind.DATETIME, "when the ticket was registered"),
)
CUSTOMER = _group(
    "customer",
    Field("id", Kind.NUMBER, "the customer's internal id"),
    Field("name", Kind.TEXT, "the customer's name as the channel gave it"),
    Field("email", Kind.TEXT, "the customer's email address; unset when unknown"),
)
INBOX = _group(
    "inbox",
    Field("name", Kind.TEXT, "the inbox's name in config.toml"),
    Field("channel", Kind.TEXT, "the inbox's channel: webchat, telegram, …"),
)
MESSAGE = _group(
    "message",
    Field("id", Kind.NUMBER, "the message's internal id"),
    Field("text", Kind.TEXT, "the text; for a press, the button's label"),
    Field("direction", Kind.CHOICE, "in: from the customer, out: to them", _values(Direction)),
    Field("internal", Kind.BOOLEAN, "true for an internal note"),
    Field(
        "attachments",
        Kind.LIST,
        "the attached files; contains compares their kind:"
        " image, file, audio, voice, video, sticker",
        item_key="kind",
    ),
    Field("author_id", Kind.NUMBER, "the writing agent's id; unset for customers and rules"),
    Field("created_at", Kind.DATETIME, "when the message was stored"),
)
STATUS = _group(
    "status",
    Field("old", Kind.CHOICE, "the status before the change", _values(TicketStatus)),
    Field("new", Kind.CHOICE, "the status after the change", _values(TicketStatus)),
)
BUTTON = _group(
    "button",
    Field("id", Kind.TEXT, "the button's opaque id"),
    Field("label", Kind.TEXT, "the label the customer saw"),
    Field("payload", Kind.TEXT, "the payload the rule that offered the button gave it"),
    Field(
        "first_press",
        Kind.BOOLEAN,
        "false when one of the message's buttons was pressed before: the first press is the choice",
    ),
    Field("message_id", Kind.NUMBER, "the id of the message that carried the button"),
)
AGENT = (
    Field("id", Kind.NUMBER, "the agent's id"),
    Field("name", Kind.TEXT, "the agent's name"),
    Field("role", Kind.CHOICE, "the agent's role", _values(Role)),
)
ORIGIN = Field(
    "origin", Kind.TEXT, "where it was written: the Telegram forum; rule:<id>: a rule; unset: web"
)
RATING = _group(
    "rating",
    Field("id", Kind.NUMBER, "the rating's id"),
    Field("value", Kind.NUMBER, "the value chosen: binary 1 (👍) or 0 (👎), five 1–5, nps 0–10"),
    Field("score", Kind.NUMBER, "the value on 0–100, whatever the scale"),
    Field("scale", Kind.CHOICE, "the scale asked", ("binary", "five", "nps")),
    Field(
        "bucket",
        Kind.CHOICE,
        "positive (👍, 4–5, 9–10), neutral (3, 7–8) or negative (👎, 1–2, 0–6)",
        ("positive", "neutral", "negative"),
    ),
    Field("via", Kind.TEXT, "where it was given: the inbox's channel, or page"),
    Field("comment", Kind.TEXT, "the customer's comment; unset until they write one"),
    Field("given_at", Kind.DATETIME, "when the rating was given"),
)
SURVEY = _group(
    "survey",
    Field("id", Kind.TEXT, "the survey's id in its surveys/*.toml file"),
    Field("request_id", Kind.NUMBER, "the survey request's id"),
    Field(
        "answers",
        Kind.TABLE,
        "the answers by question id: yes_no 1 (yes) or 0 (no), scale 1–5, nps 0–10, text a"
        " text; an unanswered question is missing ({{ survey.answers.improve }})",
    ),
    Field("answered", Kind.LIST, "the ids of the questions answered; contains compares one"),
    Field("nps", Kind.NUMBER, "the answer to the survey's NPS question, 0–10; unset if none"),
    Field(
        "nps_group",
        Kind.CHOICE,
        "promoter (9–10), passive (7–8) or detractor (0–6); unset without an NPS answer",
        ("promoter", "passive", "detractor"),
    ),
    Field("submitted_at", Kind.DATETIME, "when the customer sent the form"),
)
_TARGETS = ("reaction", "resolution")
SLA = _group(
    "sla",
    Field("target", Kind.CHOICE, "which deadline: reaction or resolution", _TARGETS),
    Field("level", Kind.TEXT, "the ticket's support level ([[sla.level]] name)"),
    Field("calendar", Kind.TEXT, "the level's calendar, which counts the working time"),
    Field("started_at", Kind.DATETIME, "when the clock started: the ticket's registration"),
    Field("due_at", Kind.DATETIME, "the deadline now (moved later by the time spent waiting)"),
    Field(
        "time_left",
        Kind.TEXT,
        'working time left until the deadline, like "25m" or "1h30m"; "0m" at a breach',
    ),
    Field("seconds_left", Kind.NUMBER, "the same in seconds of working time"),
)
TICKET_FACTS = (*TICKET, *CUSTOMER, *INBOX)


def _event(name: str, doc: str, *fields: Field) -> EventSpec:
    return EventSpec(name, doc, MappingProxyType({f.path: f for f in fields}))


EVENTS: Mapping[str, EventSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _event(ev.TICKET_CREATED, "a customer's first message opened a ticket", *TICKET_FACTS),
            _event(
                ev.MESSAGE_RECEIVED,
                "a customer wrote (the first message too, after ticket.created)",
                *TICKET_FACTS,
                *MESSAGE,
            ),
            _event(
                ev.TICKET_ASSIGNED,
                "the assignee changed; agent: the new one (unset: nobody), previous: the one"
                " before, by: who assigned",
                *TICKET_FACTS,
                *_group("agent", *AGENT),
                *_group("previous", *AGENT),
                *_group("by", *AGENT),
            ),
            _event(ev.TICKET_STATUS_CHANGED, "the status changed", *TICKET_FACTS, *STATUS),
            _event(ev.TICKET_CLOSED, "the ticket was closed", *TICKET_FACTS),
            _event(ev.TICKET_REOPENED, "a closed ticket was opened again", *TICKET_FACTS),
            _event(
                ev.BUTTON_PRESSED,
                "a customer pressed a button a reply offered; message: the press as stored",
                *TICKET_FACTS,
                *BUTTON,
                *MESSAGE,
            ),
            _event(
                ev.NOTE_ADDED,
                "an agent wrote an internal note; agent: its author",
                *TICKET_FACTS,
                *MESSAGE,
                *_group("agent", *AGENT),
                ORIGIN,
            ),
            _event(
                ev.RATING_REQUESTED,
                "a rating request was sent; agent: the one its answer will credit (the assignee)",
                *TICKET_FACTS,
                *_group(
                    "rating",
                    Field("request_id", Kind.NUMBER, "the request's id"),
                    Field("scale", Kind.CHOICE, "the scale asked", ("binary", "five", "nps")),
                    Field("expires_at", Kind.DATETIME, "when answers stop counting"),
                ),
                *_group("agent", *AGENT),
                ORIGIN,
            ),
            _event(
                ev.RATING_RECEIVED,
                "the customer rated the ticket; agent: the one credited",
                *TICKET_FACTS,
                *RATING,
                Field(
                    "rating.replaced",
                    Kind.BOOLEAN,
                    "true when it replaced the ticket's rating of the same day",
                ),
                *_group("agent", *AGENT),
            ),
            _event(
                ev.RATING_COMMENTED,
                "the customer commented their rating (on the page, or in the chat after a rule"
                " asked with ask_comment); agent: the one credited",
                *TICKET_FACTS,
                *RATING,
                *_group("agent", *AGENT),
            ),
            _event(
                ev.SURVEY_SUBMITTED,
                "the customer sent a survey's form (request_survey); agent: the one credited"
                " (the assignee when it was sent)",
                *TICKET_FACTS,
                *SURVEY,
                *_group("agent", *AGENT),
            ),
            _event(
                ev.MESSAGE_SENT,
                "a reply to the customer was queued; agent: its author, unset for a rule's reply",
                *TICKET_FACTS,
                *MESSAGE,
                *_group("agent", *AGENT),
                ORIGIN,
            ),
            *(
                _event(
                    name,
                    doc + "; agent: the assignee (unset when nobody is)",
                    *TICKET_FACTS,
                    *SLA,
                    *_group("agent", *AGENT),
                )
                for name, doc in (
                    (ev.SLA_REACTION_WARNING, "the reaction deadline is near ([sla] warn_before)"),
                    (ev.SLA_RESOLUTION_WARNING, "the resolution deadline is near"),
                    (ev.SLA_REACTION_BREACHED, "the reaction deadline passed without a reaction"),
                    (ev.SLA_RESOLUTION_BREACHED, "the resolution deadline passed, not closed"),
                )
            ),
        )
    }
)

_ORDERED = frozenset({Kind.NUMBER, Kind.DATETIME})
_EQUATABLE = frozenset({Kind.TEXT, Kind.NUMBER, Kind.BOOLEAN, Kind.CHOICE})
_LISTABLE = frozenset({Kind.TEXT, Kind.NUMBER, Kind.CHOICE})

OPERATORS: Mapping[str, Operator] = MappingProxyType(
    {
        op.name: op
        for op in (
            Operator("eq", _EQUATABLE, Operand.VALUE, "equals"),
            Operator("ne", _EQUATABLE, Operand.VALUE, "is set and differs"),
            Operator("in", _LISTABLE, Operand.VALUES, "equals one of"),
            Operator("not_in", _LISTABLE, Operand.VALUES, "is set and equals none of"),
            Operator("lt", _ORDERED, Operand.VALUE, "is less than (earlier than)"),
            Operator("le", _ORDERED, Operand.VALUE, "is at most"),
            Operator("gt", _ORDERED, Operand.VALUE, "is greater than (later than)"),
            Operator("ge", _ORDERED, Operand.VALUE, "is at least"),
            Operator(
                "contains",
                frozenset({Kind.TEXT, Kind.LIST}),
                Operand.ITEM,
                "text: holds the text, ignoring case; list: has the item",
            ),
            Operator("matches", frozenset({Kind.TEXT}), Operand.PATTERN, "a regex search finds"),
            Operator(
                "is_set",
                frozenset(Kind),
                Operand.FLAG,
                "true: has a value (not missing, empty or unset); false: has none",
            ),
        )
    }
)


def fields_of(events: Iterable[str] | None) -> Mapping[str, Field]:
    """The fields every one of ``events`` has; None: the fields of any event."""
    if events is None:
        merged: dict[str, Field] = {}
        for spec in EVENTS.values():
            merged.update(spec.fields)
        return merged
    first, *others = [EVENTS[name] for name in events]
    return {p: f for p, f in first.fields.items() if all(p in other.fields for other in others)}


@dataclass(frozen=True)
class Scope:
    """The events a rule reacts to, and so what its conditions and texts may read.
    ``events`` is None when the rule's ``on`` is itself wrong: any event's fields then pass."""

    events: tuple[str, ...] | None

    @cached_property
    def fields(self) -> Mapping[str, Field]:
        return fields_of(self.events)

    def lacking(self, path: str) -> str | None:
        """The first of the events whose data has no field ``path``."""
        return next((e for e in self.events or () if path not in EVENTS[e].fields), None)


def unknown_part(
    fields: Mapping[str, Field], parts: tuple[str, ...]
) -> tuple[str, list[str]] | None:
    """The first prefix of ``parts`` that names neither a field nor a group of fields, with
    the names that could stand in its last place; None when ``parts`` is known.

    A path may go on beyond a field into the value itself (``customer.name.upper``): templates
    may do that, conditions ask for the field exactly.
    """
    split = [f.parts for f in fields.values()]
    for depth in range(1, len(parts) + 1):
        if parts[:depth] in split:
            return None
        if not any(p[:depth] == parts[:depth] for p in split):
            parent = parts[: depth - 1]
            options = dict.fromkeys(".".join(p[:depth]) for p in split if p[: depth - 1] == parent)
            return ".".join(parts[:depth]), list(options)
    return None


def reference() -> str:
    """The catalogue as Markdown, for ``dispatcher_rules/README.md``."""
    lines = ["| event | when | data |", "|---|---|---|"]
    for spec in EVENTS.values():
        groups = dict.fromkeys(f.parts[0] for f in spec.fields.values())
        lines.append(f"| `{spec.name}` | {spec.doc} | {', '.join(groups)} |")
    lines += ["", "| field | kind | meaning |", "|---|---|---|"]
    for f in fields_of(None).values():
        kind = f"{f.kind}: {', '.join(f.choices)}" if f.choices else str(f.kind)
        lines.append(f"| `{f.path}` | {kind} | {f.doc} |")
    lines += ["", "| operator | field kinds | operand | meaning |", "|---|---|---|---|"]
    for op in OPERATORS.values():
        kinds = ", ".join(sorted(op.kinds))
        lines.append(f"| `{op.name}` | {kinds} | {op.operand} | {op.doc} |")
    return "\n".join(lines)
