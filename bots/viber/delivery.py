"""Sending to Viber, and what its refusals mean for the sender."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from bots.viber.api import ViberApi, ViberRefused, ViberUnavailable
from bots.viber.keyboards import COLUMNS, KEYBOARD_API_VERSION, keyboard
from core.channels import ButtonStyle, Capabilities, DeliveryError, Sent
from core.messages import Outbound

MAX_TEXT = 7000  # a text message holds up to 7000 characters
# What a bot offers the core: a reply keyboard (a grid 6 columns wide, so at most 6 buttons a
# line), no edits (a press gets a short answer instead). Files are not sent: they go as links.
CAPABILITIES = Capabilities(
    max_text=MAX_TEXT, buttons=ButtonStyle.REPLY, buttons_per_row=COLUMNS, edits=False
)
# The customer cannot be messaged until they write again (receiverNotRegistered: no Viber).
NOT_SUBSCRIBED = {5: "receiverNotRegistered", 6: "receiverNotSubscribed"}
_NOT_SUBSCRIBED_NAMES = {*NOT_SUBSCRIBED.values(), "notSubscribed"}
TOO_MANY_REQUESTS = 12


class Unsubscribed(DeliveryError):
    """Viber says the customer is not subscribed to the bot: permanent, and they are marked
    unreachable until they write again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


async def send(api: ViberApi, out: Outbound, sender_name: str) -> Sent:
    """Send ``out``, one message fitted to CAPABILITIES by the core."""
    with refusals():
        answer = await api.call(
            "send_message", message(out.external_id, sender_name, out.text, out.buttons)
        )
    return Sent(platform_message_id=str(answer.get("message_token", "")) or None)


def message(receiver: str, sender_name: str, text: str, buttons: Any = ()) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "receiver": receiver,
        "sender": {"name": sender_name},
        "type": "text",
        "text": text,
    }
    if markup := keyboard(buttons):
        payload["keyboard"] = markup
        payload["min_api_version"] = KEYBOARD_API_VERSION
    return payload


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Viber's errors as DeliveryError: permanent when retrying cannot help."""
    try:
        yield
    except ViberRefused as exc:
        if exc.status in NOT_SUBSCRIBED or exc.status_message in _NOT_SUBSCRIBED_NAMES:
            raise Unsubscribed(f"Viber: {exc.status_message} (the customer left the bot)") from exc
        if exc.status == TOO_MANY_REQUESTS or exc.status_message == "tooManyRequests":
            raise DeliveryError(f"Viber rate limit: {exc.reason}") from exc
        raise DeliveryError(f"Viber refused: {exc.reason}", permanent=True) from exc
    except ViberUnavailable as exc:
        raise DeliveryError(
            f"Viber unreachable: {exc.reason}",
            permanent=exc.permanent,
            retry_after=exc.retry_after,
        ) from exc
