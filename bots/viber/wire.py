"""Viber's callbacks as typed objects; a callback missing what its event needs is refused (400).

Viber numbers ``message_token`` as a 64-bit integer; it is the de-duplication key of a
message or a press.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class User(_Wire):
    id: str = Field(min_length=1, max_length=100)
    name: str | None = None
    language: str | None = None
    country: str | None = None
    api_version: int | None = None


class Contact(_Wire):
    name: str | None = None
    phone_number: str | None = None


class Location(_Wire):
    lat: float
    lon: float


class Content(_Wire):
    """The ``message`` of a message callback: ``type`` says which other fields it has."""

    type: str = Field(min_length=1)
    text: str | None = None
    media: str | None = None
    file_name: str | None = None
    size: int | None = None
    duration: int | None = None
    sticker_id: int | None = None
    contact: Contact | None = None
    location: Location | None = None


_NEEDS: dict[str, tuple[str, ...]] = {
    "message": ("sender", "message", "message_token"),
    "subscribed": ("user",),
    "conversation_started": ("user",),
    "unsubscribed": ("user_id",),
}


class Callback(_Wire):
    event: str = Field(min_length=1)
    timestamp: int | None = None
    message_token: int | None = None
    sender: User | None = None  # message
    message: Content | None = None  # message
    user: User | None = None  # subscribed, conversation_started
    user_id: str | None = None  # unsubscribed, delivered, seen, failed
    subscribed: bool | None = None  # conversation_started
    desc: str | None = None  # failed

    @model_validator(mode="after")
    def _complete(self) -> Callback:
        missing = [f for f in _NEEDS.get(self.event, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.event!r} callback needs {', '.join(missing)}")
        return self

    @property
    def at(self) -> datetime | None:
        """When it happened (Viber gives epoch milliseconds)."""
        return datetime.fromtimestamp(self.timestamp / 1000, UTC) if self.timestamp else None
