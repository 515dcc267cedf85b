"""What the sender needs of a channel adapter; adapters live in bots/ and implement it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.messages import Outbound


@dataclass(frozen=True)
class Sent:
    platform_message_id: str | None = None


class DeliveryError(Exception):
    """A channel could not deliver. ``permanent`` errors are not retried; ``retry_after``
    (seconds) overrides the back-off when the platform said how long to wait."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class ButtonStyle(StrEnum):
    """How a channel shows the core's buttons."""

    CALLBACK = "callback"  # in the message; a press comes back as an event, not as text
    REPLY = "reply"  # a keyboard under the input field; a press comes back as a message
    LINKS = "links"  # links to the press page, /press/<button id> (the adapter writes them)
    NONE = "none"  # none at all: the core lists the labels in the text


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show, declared by its adapter; the core adapts every outgoing
    message to it before the adapter sees it (core/adapt.py)."""

    max_text: int | None  # characters in one platform message; longer texts go in parts
    buttons: ButtonStyle
    utf16: bool = False  # max_text counts UTF-16 code units (Telegram), not characters
    buttons_per_row: int | None = None  # longer rows are cut evenly (core/rows.py)
    max_buttons: int | None = None  # buttons beyond it are left out, with a warning
    edits: bool = False  # can change a message it sent: a press's choice shows in it
    files: frozenset[str] = frozenset()  # attachment kinds it sends; others go as links


class Channel(Protocol):
    capabilities: Capabilities

    async def send(self, outbound: Outbound) -> Sent:
        """Deliver one platform message, already fitted to ``capabilities`` by the core (one
        part of a long text); raise DeliveryError when it cannot be delivered now."""
        ...


@runtime_checkable
class FileSource(Protocol):
    async def open_file(self, file_id: str) -> bytes:
        """The bytes of a file a customer sent, by the platform's id for it."""
        ...


@runtime_checkable
class AgentLinks(Protocol):
    def agent_link(self, code: str) -> str | None:
        """Where an agent sends ``code`` to link their account on this platform (a deep link),
        or None while it is not known yet."""
        ...


@runtime_checkable
class AgentChats(Protocol):
    async def tell_agent(self, chat_id: int, text: str) -> None:
        """Write to an agent in the private chat they linked (their Telegram user id);
        raise DeliveryError when it cannot be done."""
        ...
