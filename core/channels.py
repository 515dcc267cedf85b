"""What the sender needs of a channel adapter; adapters live in bots/ and implement it."""

from __future__ import annotations

from dataclasses import dataclass
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


class Channel(Protocol):
    async def send(self, outbound: Outbound) -> Sent:
        """Deliver one message; raise DeliveryError when it cannot be delivered now."""
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
