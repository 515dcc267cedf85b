"""Sending to VK, and what its refusals mean for the sender.

VK de-duplicates ``messages.send`` by ``random_id`` within a dialog: a message sent again with
the same one is not delivered twice. Each part of an outbox message (a long text goes in
parts, core/adapt.py) gets a ``random_id`` derived from the outbox row and the part, so a
retry after a lost answer never sends twice.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from vkbottle import VKAPIError

from bots.vk.api import VkApi, VkUnavailable
from bots.vk.keyboards import EMPTY_STANDARD, MAX_BUTTONS, PER_ROW, keyboard
from core.channels import ButtonStyle, Capabilities, DeliveryError, Sent
from core.messages import Outbound

MAX_TEXT = 4096
# What a community offers the core: callback buttons (5 a line, 40 in the keyboard under the
# input field), edits of its own messages. Files are not sent: they go as links.
CAPABILITIES = Capabilities(
    max_text=MAX_TEXT,
    buttons=ButtonStyle.CALLBACK,
    buttons_per_row=PER_ROW,
    max_buttons=MAX_BUTTONS,
    edits=True,
)
TOO_MANY_REQUESTS, FLOOD_CONTROL = 6, 9
# The customer does not take messages from the community: blacklisted it (900), did not allow
# or forbade them (901), or their privacy settings refuse them (902).
CUSTOMER_REFUSES = {900, 901, 902}
# Retrying cannot help: the token or its rights (5, 7, 15, 27), the request (100, 911-914…).
PERMANENT = {5, 7, 15, 27, 100, 113, 911, 912, 913, 914, 917, 921, 945, 946}
_RETRY_SECONDS = {TOO_MANY_REQUESTS: 1.0, FLOOD_CONTROL: 30.0}


class CustomerRefuses(DeliveryError):
    """Permanent: the customer cannot be messaged from this community until they write."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


@dataclass(frozen=True)
class Shown:
    """A message with buttons as sent: enough to show the choice once one is pressed."""

    text: str
    labels: dict[str, str]
    inline: bool = True  # else the keyboard is under the input field, not in the message


class SentKeyboards:
    """The last messages with buttons sent (in memory): a press names its message by the
    dialog and ``conversation_message_id``, and the edit needs the text and the labels. Also
    the dialogs with a keyboard under the input field: our next message there without
    buttons takes it away (an edit cannot)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._shown: OrderedDict[tuple[int, int], Shown] = OrderedDict()
        self.standing: OrderedDict[int, None] = OrderedDict()

    def remember(self, peer_id: int, cmid: int, shown: Shown) -> None:
        self._shown[(peer_id, cmid)] = shown
        if len(self._shown) > self._size:
            self._shown.popitem(last=False)
        if not shown.inline:
            self.standing[peer_id] = None
            if len(self.standing) > self._size:
                self.standing.popitem(last=False)

    def get(self, peer_id: int, cmid: int) -> Shown | None:
        return self._shown.get((peer_id, cmid))


def random_id(key: str, part: int = 0) -> int:
    """A positive 31-bit id, the same for the same outbox row and part on every attempt."""
    digest = hashlib.blake2b(f"{key}/{part}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF or 1


async def send(api: VkApi, out: Outbound, keyboards: SentKeyboards) -> Sent:
    """Send ``out`` to its dialog, one message fitted to CAPABILITIES by the core. A message
    without buttons takes away a keyboard standing under the input field."""
    peer_id = int(out.external_id)
    board = keyboard(out.buttons)
    clear = board is None and peer_id in keyboards.standing
    with refusals(out):
        [result] = await api.call(
            "messages.send",
            peer_ids=str(peer_id),
            random_id=random_id(out.key, out.part),
            message=out.text,
            keyboard=EMPTY_STANDARD if clear else board.json if board else None,
        )
        if "error" in result:
            raise VKAPIError[int(result["error"]["code"])](
                error_msg=str(result["error"].get("description", "messages.send failed"))
            )
    cmid = int(result.get("conversation_message_id") or 0)
    if clear:
        keyboards.standing.pop(peer_id, None)
    if board and cmid:
        labels = {b.id: b.label for b in out.buttons}
        keyboards.remember(peer_id, cmid, Shown(out.text, labels, board.inline))
    return Sent(platform_message_id=f"{peer_id}:{cmid}")


async def say(api: VkApi, peer_id: int, text: str, key: str) -> None:
    """A plain message (a greeting, a polite refusal); ``key`` names it for ``random_id``."""
    await api.call("messages.send", peer_id=peer_id, random_id=random_id(key), message=text)


@contextlib.contextmanager
def refusals(out: Outbound) -> Iterator[None]:
    """VK's errors as DeliveryError: permanent when retrying cannot help."""
    try:
        yield
    except VKAPIError as exc:
        code = exc.code
        reason = f"VK error {code} in dialog {out.external_id} (outbox {out.outbox_id}): {exc}"
        if code in _RETRY_SECONDS:
            wait = _RETRY_SECONDS[code]
            raise DeliveryError(f"{reason}; retry after {wait:g}s", retry_after=wait) from exc
        if code in CUSTOMER_REFUSES:
            raise CustomerRefuses(reason) from exc
        raise DeliveryError(reason, permanent=code in PERMANENT) from exc
    except (TimeoutError, aiohttp.ClientError, VkUnavailable) as exc:
        raise DeliveryError(f"VK unreachable: {type(exc).__name__}: {exc}") from exc
