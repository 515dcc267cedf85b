"""What a rule does: actions as data, one model per action, told apart by their ``action`` key.

Validation only: the engine runs them. An action a later issue adds (``request_rating``) is one
more model here and one more entry in ``ACTIONS``. Texts are compiled templates (``Text``);
durations are ``timedelta``.
"""

from __future__ import annotations

import operator
import re
from datetime import timedelta
from functools import reduce
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

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
from core.scales import SCALES, Scale

MAX_ROW = 9  # ten lines of buttons: more than any chat keyboard shows well


def _row(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_ROW:
        raise Invalid(f"expected a line number from 0 to {MAX_ROW}, got {shown(raw)}")
    return raw


class ButtonSpec(Table):
    """A button of a reply; a press emits ``button.pressed`` with this payload. Buttons with
    the same ``row`` share a line (where the channel lays buttons out in lines)."""

    label: Label
    payload: Payload
    row: Annotated[int, BeforeValidator(_row)] = 0


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


class RequestRating(Table):
    """Ask the customer to rate the ticket: buttons in a chat, links to the rating page in an
    email. The answer is ``rating.received``; one after ``expires_in`` changes nothing."""

    action: Literal["request_rating"]
    scale: one_of(*Scale) = Scale.BINARY
    expires_in: Duration = timedelta(days=7)
    text: Template | None = None
    labels: tuple[Label, ...] | None = None

    @model_validator(mode="after")
    def _a_label_per_value(self) -> RequestRating:
        wanted = len(SCALES[Scale(self.scale)].values)
        if self.labels is not None and len(self.labels) != wanted:
            raise Invalid(
                f"a {self.scale} scale has {wanted} values: expected {wanted} labels,"
                f" got {len(self.labels)}",
                "labels",
            )
        return self


class AskComment(Table):
    """Ask the customer about their rating: their next message in the chat, within
    ``within``, becomes the comment of the ticket's latest rating (``rating.commented``)
    and neither reopens nor opens a ticket. Buttons, e.g. reasons, work as in ``reply``."""

    action: Literal["ask_comment"]
    text: Template
    within: Duration = timedelta(hours=1)
    buttons: tuple[ButtonSpec, ...] = ()


SURVEY_ID = re.compile(r"^[a-z0-9_.-]{1,64}$")


def _survey_id(raw: Any) -> str:
    if not isinstance(raw, str) or not SURVEY_ID.match(raw):
        raise Invalid(f"expected a survey's id: 1-64 of a-z 0-9 _ . -, got {shown(raw)}")
    return raw


SurveyId = Annotated[str, BeforeValidator(_survey_id)]


class RequestSurvey(Table):
    """Send the customer a link to a survey's form (``surveys/*.toml``); its answers are
    ``survey.submitted``, and a form sent after ``expires_in`` is refused."""

    action: Literal["request_survey"]
    survey: SurveyId
    expires_in: Duration = timedelta(days=7)
    text: Template | None = None


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
    RequestRating,
    AskComment,
    RequestSurvey,
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
