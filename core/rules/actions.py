"""What a rule does: actions as data, one model per action, told apart by their ``action`` key.

Validation only: the engine runs them. An action a later issue adds (``request_rating``) is one
more model here and one more entry in ``ACTIONS``. Texts are compiled templates (``Text``);
durations are ``timedelta``.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from core.models import Priority, TicketStatus
from core.rules.problems import Invalid, Table, shown, tag
from core.rules.values import (
    Duration,
    Label,
    Login,
    Logins,
    Payload,
    Retries,
    Seconds,
    Tags,
    Template,
    Url,
    one_of,
    target,
)


class ButtonSpec(Table):
    """A button of a reply; a press emits ``button.pressed`` with this payload."""

    label: Label
    payload: Payload


class Reply(Table):
    """Write to the customer in the ticket's channel, optionally with buttons."""

    action: Literal["reply"]
    text: Template
    buttons: tuple[ButtonSpec, ...] = ()


class SendEmail(Table):
    """Email the customer (skipped when their address is unknown)."""

    action: Literal["send_email"]
    subject: Template
    text: Template


class Assign(Table):
    """Give the ticket to one agent, or to the next of a list in turn."""

    action: Literal["assign"]
    agent: Login | None = None
    round_robin: Logins | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Assign:
        if (self.agent is None) == (self.round_robin is None):
            raise Invalid('expected either agent = "login" or round_robin = ["login", …]')
        return self


class SetStatus(Table):
    """Move the ticket to open, waiting or closed (as its lifecycle allows)."""

    action: Literal["set_status"]
    status: one_of(*(s for s in TicketStatus if s != TicketStatus.NEW))


class SetPriority(Table):
    """Change the ticket's priority."""

    action: Literal["set_priority"]
    priority: one_of(*Priority)


class AddTags(Table):
    """Add tags to the ticket (a tag listed twice counts once)."""

    action: Literal["tag"]
    tags: Tags


class Note(Table):
    """An internal note on the ticket: agents see it, the customer never does."""

    action: Literal["note"]
    text: Template


class Notify(Table):
    """Tell agents, in the web inbox and in Telegram when linked."""

    action: Literal["notify"]
    to: target("assignee", "supervisors")
    text: Template


class CreateTask(Table):
    """A task for an agent, due after ``due_in`` when given."""

    action: Literal["create_task"]
    owner: target("assignee", "supervisor") = Field(alias="for")
    title: Template
    description: Template | None = None
    due_in: Duration | None = None


class Webhook(Table):
    """POST JSON about the event to ``url``; ``payload`` holds extra constant keys."""

    action: Literal["webhook"]
    url: Url
    timeout: Seconds = 10.0
    retries: Retries = 3
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload", mode="before")
    @classmethod
    def _json(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise Invalid(f"expected a table, got {shown(raw)}")
        _check_json(raw, ())
        return raw


def _check_json(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, (*path, i))
    elif not isinstance(value, str | int | float | bool):
        raise Invalid(f"expected a text, number, boolean, list or table, got {shown(value)}", *path)


class Stop(Table):
    """End the processing of this event: later rules do not run."""

    action: Literal["stop"]


ACTIONS: tuple[type[Table], ...] = (
    Reply,
    SendEmail,
    Assign,
    SetStatus,
    SetPriority,
    AddTags,
    Note,
    Notify,
    CreateTask,
    Webhook,
    Stop,
)
NAMES = {get_args(model.model_fields["action"].annotation)[0]: model for model in ACTIONS}


class _NotAnAction(Table):
    """Stands for anything else written where an action was expected, to say so."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any) -> Any:
        expected = ", ".join(NAMES)
        if not isinstance(raw, dict):
            raise Invalid(f'expected an action like {{ action = "reply", … }}, got {shown(raw)}')
        if "action" not in raw:
            raise Invalid(f"required: one of {expected}", "action")
        raise Invalid(
            f"unknown action {shown(raw['action'])}; expected one of: {expected}", "action"
        )


def _which(raw: Any) -> str:
    name = raw.get("action") if isinstance(raw, dict) else None
    return tag(name if isinstance(name, str) and name in NAMES else "other")


Action = Annotated[
    reduce(
        operator.or_,
        [Annotated[model, Tag(tag(name))] for name, model in NAMES.items()]
        + [Annotated[_NotAnAction, Tag(tag("other"))]],
    ),
    Discriminator(_which),
]
