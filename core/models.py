"""The stored shape of Otklik: SQLAlchemy 2 models; migrations/ follows them (Alembic)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Delivery(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Inbox(Base):
    __tablename__ = "inboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    """One way to reach a customer: their id on one inbox's platform."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("inbox_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the platform says the customer cannot be messaged here (unsubscribed from the
    # bot, blocked the community, …); cleared when they write again.
    unreachable_since: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    # A rule asked this customer what went wrong: their next message here until then is the
    # comment of that rating (no foreign key: ratings already lead back here).
    comment_rating_id: Mapped[int | None] = mapped_column(Integer)
    comment_until: Mapped[datetime | None]
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (Index("uq_agents_link_code_hash", "link_code_hash", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    login: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Who a task "for the assignee's supervisor" goes to; unset: to supervisors as a team.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    link_code_hash: Mapped[str | None] = mapped_column(String(64))
    link_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentSession(Base):
    __tablename__ = "agent_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    agent: Mapped[Agent] = relationship(lazy="joined", innerjoin=True)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_inbox_status", "customer_id", "inbox_id", "status"),
        Index("ix_tickets_status_activity", "status", "last_activity_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.NEW)
    priority: Mapped[str] = mapped_column(String(20), default=Priority.NORMAL)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moved forward by the database itself on every new message (trigger messages_touch in
    # the first migration): one statement less on the busiest path, and never forgotten.
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_reply_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    inbox: Mapped[Inbox] = relationship(lazy="joined", innerjoin=True)
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    identity: Mapped[Identity] = relationship(lazy="joined", innerjoin=True)
    assignee: Mapped[Agent | None] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("inbox_id", "platform_message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    direction: Mapped[str] = mapped_column(String(3))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(200))  # emails' subject line
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    pressed_button_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    # Earlier versions of an edited message, oldest first: [{"text": …, "until": iso time}].
    edits: Mapped[list[Any]] = mapped_column(default=list)
    ticket: Mapped[Ticket] = relationship(lazy="raise")  # set when writing, never loaded
    inbox: Mapped[Inbox] = relationship(lazy="raise")  # loaded only where asked for
    author: Mapped[Agent | None] = relationship(lazy="joined")
    buttons: Mapped[list[Button]] = relationship(
        lazy="selectin", order_by="Button.position", foreign_keys="Button.message_id"
    )
    delivery: Mapped[OutboxItem | None] = relationship(lazy="joined")


class Button(Base):
    """A button sent to a customer; ``id`` is the short opaque token the platform sees."""

    __tablename__ = "buttons"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(String(64))
    row: Mapped[int] = mapped_column(Integer, default=0)  # buttons of one row share a line
    # Set on the buttons of a rating request: a press answers it (payload "rating:<value>").
    rating_request_id: Mapped[int | None] = mapped_column(ForeignKey("rating_requests.id"))
    pressed_at: Mapped[datetime | None]


class OutboxItem(Base):
    """One outgoing message and its delivery state; written with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # An email reply names what it answers by the Message-ID we sent (core/replies.py).
        Index("ix_outbox_inbox_platform_message", "inbox_id", "platform_message_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    status: Mapped[str] = mapped_column(String(10), default=Delivery.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Platform messages of this row that went out: a long text goes in parts (core/adapt.py),
    # and a retry goes on from the first part not sent.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Every status change and assignment of a ticket, and who made it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(10))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    action: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str | None] = mapped_column(String(100))
    ticket: Mapped[Ticket] = relationship(lazy="raise")  # set when writing, never loaded
    agent: Mapped[Agent | None] = relationship(lazy="joined")


class TicketThread(Base):
    """Where agents follow a ticket outside the web inbox, e.g. a topic of a Telegram forum:
    one thread per ticket and agents' inbox, found again when the ticket reopens."""

    __tablename__ = "ticket_threads"
    __table_args__ = (
        UniqueConstraint("inbox_id", "ticket_id", name="uq_ticket_threads_inbox_id"),
        UniqueConstraint(
            "inbox_id", "chat_id", "thread_id", name="uq_ticket_threads_inbox_chat_thread"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DelayedRun(Base):
    """A rule that fires later ("2h after close"): a row, so it survives restarts and fires once.

    ``key`` is the idempotency key (rule and causing event): scheduling twice is harmless.
    """

    __tablename__ = "delayed_runs"
    __table_args__ = (
        Index("ix_delayed_runs_due", "state", "due_at"),
        Index("ix_delayed_runs_ticket", "ticket_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rule_id: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    event_name: Mapped[str] = mapped_column(String(50))
    event_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cancel_on: Mapped[list[Any]] = mapped_column(default=list)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(10), default="pending")
    # How many rule runs led to the event: a run's own events are one deeper (loop guard).
    depth: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(40))  # the runner holding it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Task(Base):
    """Work for an agent, e.g. "call the customer back", created by a rule; ``owner_id`` unset:
    for supervisors as a team."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_open", "owner_id", "done_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None]
    rule_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class Notification(Base):
    """A line for one agent from a rule's ``notify``; shown in the web inbox until read."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_agent_read", "agent_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    text: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class RuleStat(Base):
    """When a rule last fired and how often, for the admins' rules page."""

    __tablename__ = "rule_stats"
    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    fired: Mapped[int] = mapped_column(Integer, default=0)
    last_fired_at: Mapped[datetime | None]
    turns: Mapped[int] = mapped_column(Integer, default=0)  # round-robin assignments made


class RuleChange(Base):
    """A rule file as an admin saved it in the browser, and who did: the rules' history."""

    __tablename__ = "rule_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(String(200), index=True)
    old_text: Mapped[str | None] = mapped_column(Text)  # unset: the file was new
    new_text: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RatingRequest(Base):
    """ "How did we do?" asked of a ticket's customer: by buttons in their chat, or by links to
    the public page (``token``, random and unguessable) in an email. Answers after
    ``expires_at`` change nothing."""

    __tablename__ = "rating_requests"
    __table_args__ = (
        # Covers the response-rate reports (core/reports), read from the index alone, and any
        # search by the time sent (it starts with created_at).
        Index("ix_rating_requests_report", "created_at", "agent_id", "inbox_id", "answered_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # credited
    scale: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    origin: Mapped[str] = mapped_column(String(120))  # "rule:<id>" or "agent:<login>"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]  # the first answer


class Rating(Base):
    """A customer's answer: one per ticket and day (``day``, in the service's time zone) —
    a later answer the same day replaces it, one on another day is kept beside it."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("ticket_id", "day"),
        Index("ix_ratings_given", "given_at"),
        Index("ix_ratings_agent_given", "agent_id", "given_at"),
        # The rating reports (core/reports): their figures read from it alone, their lists in
        # its order (a day is the local date of given_at, so day, given_at is newest first).
        Index(
            "ix_ratings_report",
            "day",
            "given_at",
            "agent_id",
            "inbox_id",
            "scale",
            "bucket",
            "score",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rating_requests.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    scale: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)  # the value on 0–100, whatever the scale
    bucket: Mapped[str] = mapped_column(String(10))  # positive | neutral | negative
    via: Mapped[str] = mapped_column(String(20))  # the channel, or "page"
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the service's time zone
    given_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(Text)
    commented_at: Mapped[datetime | None]


class SurveyRequest(Base):
    """A survey sent to a ticket's customer as a link to ``/survey/<token>`` (random and
    unguessable). ``questions`` keeps the survey as it was asked, whatever its file says later;
    one submission, before ``expires_at``."""

    __tablename__ = "survey_requests"
    __table_args__ = (Index("ix_survey_requests_created", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    survey_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # credited
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    origin: Mapped[str] = mapped_column(String(120))  # "rule:<id>"
    questions: Mapped[dict[str, Any]]  # {"title": {locale: text}, "questions": [...]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]


class SurveyAnswer(Base):
    """One answer of a submitted survey: ``value`` for yes_no (1 yes, 0 no), scale (1–5) and
    nps (0–10), ``text`` for a text question; a question left blank has no row."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("request_id", "question_id"),
        Index("ix_survey_answers_kind_value", "kind", "value"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("survey_requests.id"))
    question_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)


class SlaTarget(Base):
    """One SLA deadline of a ticket (``target``: reaction or resolution), fixed when the ticket
    is registered under its support level; derived again (from the same ``started_at``) only
    when a change of its tags or priority, before any deadline is met, gives it another level.

    ``due_at`` is the deadline now: the first one plus the working time (by ``calendar``) the
    ticket spent paused, added each time a pause ends (``paused_seconds`` sums it;
    ``paused_since`` is set while a pause runs). ``met_at`` is when it was met, ``breached``
    whether that was late (or the deadline passed unmet), ``worked_seconds`` the working time
    it took, pauses left out, and ``agent_id`` the assignee when it was met or breached: one
    row per ticket and target, so the compliance report is an SQL aggregate over this table.
    """

    __tablename__ = "sla_targets"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target"),
        # Open deadlines, nearest first: the inbox's sort and the escalation checks.
        Index("ix_sla_targets_open", "met_at", "due_at"),
        # The compliance report reads it alone (core/reports/sla.py): its filters, then what
        # it counts and the breaches' order (migration 0013).
        Index(
            "ix_sla_targets_report",
            "started_at",
            "level",
            "target",
            "agent_id",
            "inbox_id",
            "ticket_id",
            "breached",
            "met_at",
            "worked_seconds",
            "due_at",
            "id",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    level: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(10))  # reaction | resolution
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    worked_seconds: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
