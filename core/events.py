"""Every event the core emits, named ``noun.verb``; rules and live views subscribe to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

TICKET_CREATED = "ticket.created"
TICKET_STATUS_CHANGED = "ticket.status_changed"
TICKET_CLOSED = "ticket.closed"
TICKET_REOPENED = "ticket.reopened"
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_RECEIVED = "message.received"
MESSAGE_EDITED = "message.edited"
MESSAGE_SENT = "message.sent"
NOTE_ADDED = "note.added"
BUTTON_PRESSED = "button.pressed"
DELIVERY_CHANGED = "delivery.changed"
RATING_REQUESTED = "rating.requested"
RATING_RECEIVED = "rating.received"
RATING_COMMENTED = "rating.commented"
SURVEY_SUBMITTED = "survey.submitted"
SLA_REACTION_WARNING = "sla.reaction_warning"
SLA_RESOLUTION_WARNING = "sla.resolution_warning"
SLA_REACTION_BREACHED = "sla.reaction_breached"
SLA_RESOLUTION_BREACHED = "sla.resolution_breached"

ALL = frozenset(
    {
        TICKET_CREATED,
        TICKET_STATUS_CHANGED,
        TICKET_CLOSED,
        TICKET_REOPENED,
        TICKET_ASSIGNED,
        MESSAGE_RECEIVED,
        MESSAGE_EDITED,
        MESSAGE_SENT,
        NOTE_ADDED,
        BUTTON_PRESSED,
        DELIVERY_CHANGED,
        RATING_REQUESTED,
        RATING_RECEIVED,
        RATING_COMMENTED,
        SURVEY_SUBMITTED,
        SLA_REACTION_WARNING,
        SLA_RESOLUTION_WARNING,
        SLA_REACTION_BREACHED,
        SLA_RESOLUTION_BREACHED,
    }
)


@dataclass(frozen=True)
class Event:
    """Something that happened, with a snapshot of what rules and views need to know of it."""

    name: str
    occurred_at: datetime
    ticket_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    depth: int = 0  # how many rule runs led here: a run's own events are one deeper
    id: str = field(default_factory=lambda: uuid4().hex)

    def __post_init__(self) -> None:
        if self.name not in ALL:
            raise ValueError(f"unknown event {self.name!r}; known: {sorted(ALL)}")
