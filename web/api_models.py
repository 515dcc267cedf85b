"""The JSON API's shapes: what /api/v1 accepts (strict, no unknown fields) and what it answers.

Request bodies are validated in strict JSON mode: ``"5"`` is not an agent id and ``true`` is
not a number. Query and path parameters arrive as text and are converted. Responses are built
from the core's rows by the ``of`` constructors, so handlers never assemble dicts by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.messages import MAX_TEXT
from core.models import (
    Agent,
    AuditEntry,
    Delivery,
    Direction,
    Message,
    Priority,
    Role,
    Ticket,
    TicketStatus,
)
from core.models import Button as ButtonRow
from core.scales import Bucket, Scale
from core.ticket_ratings import Shown

MAX_PAGE = 200
MAX_ID = 2**31 - 1  # ids and numbers are 32-bit columns; larger values never match
MAX_TELEGRAM_ID = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Clean = Annotated[str, AfterValidator(_no_nul)]
"""Text that is stored or searched: PostgreSQL text cannot hold a NUL character."""


class Body(BaseModel):
    """Base of request bodies: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Params(BaseModel):
    """Base of query and path parameters: text converted, unknown parameters refused."""

    model_config = ConfigDict(extra="forbid")


# Errors


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status, repeated")
    message: str = Field(description="What was wrong, in words that can be shown to a person")


class ErrorResponse(BaseModel):
    """Every refusal: 4xx and 5xx answers all have this shape."""

    error: ErrorDetail


# Parameters


class TicketPath(Params):
    number: int = Field(
        ge=1, le=MAX_ID, description="The ticket's number, as agents and customers see it"
    )


class TicketQuery(Params):
    status: Literal["new", "open", "waiting", "closed", "live"] | None = Field(
        None, description="One status, or live for new, open and waiting"
    )
    assignee: str | None = Field(
        None,
        pattern=r"^([1-9]\d{0,8}|me|none)$",
        description="An agent id, me (the caller) or none (unassigned)",
    )
    inbox: Clean | None = Field(None, max_length=40, description="An inbox name")
    q: Clean | None = Field(
        None, max_length=200, description="Text in the subject, customer name or messages; #n"
    )
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_ID)


# Request bodies


class SignIn(Body):
    login: Clean = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class ButtonIn(Body):
    label: Clean = Field(description="1-64 characters")
    payload: str = Field(
        description="1-64 characters of A-Z a-z 0-9 _ . : = -; what button.pressed rules match"
    )


class ReplyIn(Body):
    text: Clean = Field(min_length=1, max_length=MAX_TEXT)
    buttons: list[ButtonIn] = Field(default_factory=list)


class NoteIn(Body):
    text: Clean = Field(min_length=1, max_length=MAX_TEXT)


class AssignIn(Body):
    agent_id: int | None = Field(
        ge=1, le=MAX_ID, description="The new assignee, or null for nobody"
    )


class StatusIn(Body):
    status: Literal["open", "waiting", "closed"] = Field(
        description="open also reopens a closed ticket"
    )


class NewAgentIn(Body):
    name: Clean = Field(min_length=1, max_length=200)
    login: Clean = Field(min_length=2, max_length=100, description="2-100 of a-z 0-9 . _ -")
    role: Role
    telegram_id: int | None = Field(None, ge=1, le=MAX_TELEGRAM_ID)


# Responses


class AgentRef(BaseModel):
    id: int
    name: str
    role: Role

    @classmethod
    def of(cls, agent: Agent | None) -> AgentRef | None:
        if agent is None:
            return None
        return cls(id=agent.id, name=agent.name, role=Role(agent.role))


class AgentOut(BaseModel):
    id: int
    name: str
    login: str
    role: Role
    active: bool
    telegram_id: int | None

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        return cls(
            id=agent.id,
            name=agent.name,
            login=agent.login,
            role=Role(agent.role),
            active=agent.active,
            telegram_id=agent.telegram_id,
        )


class AgentList(BaseModel):
    agents: list[AgentOut]


class NewAgentOut(BaseModel):
    agent: AgentOut
    setup_url: str = Field(description="One-time link where the agent sets a password")


class SessionOut(BaseModel):
    token: str = Field(description="Send as Authorization: Bearer <token>")
    csrf_token: str = Field(description="X-CSRF-Token for unsafe calls made with the cookie")
    agent: AgentOut


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str | None


class TicketOut(BaseModel):
    number: int
    subject: str
    status: TicketStatus
    priority: Priority
    inbox: str
    channel: str
    customer: CustomerOut
    assignee: AgentRef | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    first_reply_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        customer = ticket.customer
        return cls(
            number=ticket.number,
            subject=ticket.subject,
            status=TicketStatus(ticket.status),
            priority=Priority(ticket.priority),
            inbox=ticket.inbox.name,
            channel=ticket.inbox.channel,
            customer=CustomerOut(id=customer.id, name=customer.name, email=customer.email),
            assignee=AgentRef.of(ticket.assignee),
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            last_activity_at=ticket.last_activity_at,
            first_reply_at=ticket.first_reply_at,
            closed_at=ticket.closed_at,
        )


class TicketList(BaseModel):
    tickets: list[TicketOut]
    total: int = Field(description="How many tickets match in all pages")


class AttachmentOut(BaseModel):
    kind: str
    name: str = ""
    mime: str = ""
    size: int | None = None
    url: str = ""

    @classmethod
    def of(cls, stored: dict[str, Any]) -> AttachmentOut:
        return cls(
            kind=str(stored.get("kind", "file")),
            name=str(stored.get("name", "")),
            mime=str(stored.get("mime", "")),
            size=stored.get("size"),
            url=str(stored.get("url", "")),
        )


class ButtonOut(BaseModel):
    label: str
    payload: str
    pressed_at: datetime | None

    @classmethod
    def of(cls, button: ButtonRow) -> ButtonOut:
        return cls(label=button.label, payload=button.payload, pressed_at=button.pressed_at)


class DeliveryOut(BaseModel):
    status: Delivery
    attempts: int
    error: str | None = Field(description="The last failure, if any")
    sent_at: datetime | None


class MessageOut(BaseModel):
    id: int
    direction: Direction
    internal: bool = Field(description="An agents' note the customer never sees")
    author: AgentRef | None = Field(description="The agent who wrote it; null for customer or bot")
    text: str
    attachments: list[AttachmentOut]
    buttons: list[ButtonOut]
    delivery: DeliveryOut | None = Field(description="Outgoing messages only")
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        item = message.delivery
        delivery = (
            DeliveryOut(
                status=Delivery(item.status),
                attempts=item.attempts,
                error=item.last_error,
                sent_at=item.sent_at,
            )
            if item is not None
            else None
        )
        return cls(
            id=message.id,
            direction=Direction(message.direction),
            internal=message.internal,
            author=AgentRef.of(message.author),
            text=message.text,
            attachments=[AttachmentOut.of(a) for a in message.attachments or []],
            buttons=[ButtonOut.of(b) for b in message.buttons],
            delivery=delivery,
            created_at=message.created_at,
        )


class MessageList(BaseModel):
    messages: list[MessageOut]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="Who made the change: customer or agent")
    agent: AgentRef | None
    action: str
    old_value: str | None
    new_value: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            agent=AgentRef.of(entry.agent),
            action=entry.action,
            old_value=entry.old_value,
            new_value=entry.new_value,
        )


class AuditList(BaseModel):
    entries: list[AuditEntryOut]


class RatingOut(BaseModel):
    id: int
    value: int
    label: str = Field(description="The value as the customer saw it offered")
    scale: Scale
    score: int = Field(description="The value on 0-100, whatever the scale")
    bucket: Bucket
    via: str = Field(description="The channel the answer came by, or page (the rating page)")
    agent: AgentRef | None = Field(description="The agent the rating credits")
    given_at: datetime
    comment: str | None
    commented_at: datetime | None

    @classmethod
    def of(cls, shown: Shown) -> RatingOut:
        rating = shown.rating
        return cls(
            id=rating.id,
            value=rating.value,
            label=shown.label,
            scale=Scale(rating.scale),
            score=rating.score,
            bucket=Bucket(rating.bucket),
            via=rating.via,
            agent=AgentRef.of(shown.agent),
            given_at=rating.given_at,
            comment=rating.comment,
            commented_at=rating.commented_at,
        )


class RatingList(BaseModel):
    ratings: list[RatingOut]
