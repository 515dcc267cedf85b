"""Viber's callbacks and refusals in the core's terms, as tables (no service needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bots.viber import delivery, keyboards, signature, translate
from bots.viber.api import ViberRefused, ViberUnavailable
from bots.viber.wire import Callback
from core.channels import DeliveryError
from core.messages import OutButton, split_text

SENDER = {"id": "u1==", "name": "Alice"}


def callback(content: dict) -> Callback:
    return Callback.model_validate(
        {
            "event": "message",
            "message_token": 7,
            "timestamp": 1,
            "sender": SENDER,
            "message": content,
        }
    )


@pytest.mark.parametrize(
    ("content", "text", "kept"),
    [
        ({"type": "text", "text": "hi"}, "hi", []),
        ({"type": "url", "media": "https://example.com/x"}, "https://example.com/x", []),
        (
            {"type": "picture", "media": "https://m/p.jpg", "text": "receipt", "size": 9},
            "receipt",
            [{"kind": "image", "mime": "image/jpeg", "size": 9, "file_id": "https://m/p.jpg"}],
        ),
        (
            {"type": "file", "media": "https://m/f", "file_name": "a.pdf", "size": 3},
            "",
            [{"kind": "file", "name": "a.pdf", "mime": "application/pdf", "size": 3}],
        ),
        (
            {"type": "sticker", "media": "https://m/s.png", "sticker_id": 40100},
            "",
            [{"kind": "sticker", "name": "sticker 40100", "mime": "image/png"}],
        ),
        (
            {"type": "contact", "contact": {"name": "Bob", "phone_number": "+380"}},
            "",
            [{"kind": "contact", "name": "Bob +380"}],
        ),
        (
            {"type": "location", "location": {"lat": 50.45, "lon": 30.52}},
            "",
            [{"kind": "location", "name": "50.45,30.52", "url": "geo:50.45,30.52"}],
        ),
        ({"type": "rich_media"}, "", [{"kind": "rich_media"}]),
    ],
)
def test_messages_become_inbound_with_their_files_as_metadata(
    content: dict, text: str, kept: list[dict]
):
    inbound = translate.inbound("vb", callback(content))
    assert (
        inbound.text == text and inbound.external_id == "u1==" and inbound.customer_name == "Alice"
    )
    assert inbound.platform_message_id == "7"
    found = [a.as_dict() for a in inbound.attachments]
    assert len(found) == len(kept)
    for got, want in zip(found, kept, strict=True):
        assert want.items() <= got.items()


@pytest.mark.parametrize(
    "raw",
    [
        {"event": "message", "message_token": 1, "sender": SENDER},
        {"event": "message", "sender": SENDER, "message": {"type": "text", "text": "x"}},
        {"event": "unsubscribed"},
        {"event": "subscribed", "user": {"id": ""}},
        {"message_token": 1},
    ],
)
def test_incomplete_callbacks_are_refused(raw: dict):
    with pytest.raises(ValidationError):
        Callback.model_validate(raw)


def test_press_payloads_round_trip_and_other_texts_are_not_presses():
    [button] = keyboards.keyboard([OutButton("AbC_-9", "Yes")])["Buttons"]
    assert keyboards.pressed(button["ActionBody"]) == "AbC_-9"
    for text in ("hello", "otk:b:", "otk:b:a b", "otk:x:abc", None, "otk:b:" + "a" * 33):
        assert keyboards.pressed(text) is None


def test_signatures_are_checked_over_the_exact_body():
    body = b'{"event":"webhook"}'
    good = signature.sign(body, "t" * 32)
    assert signature.valid(body, good, "t" * 32) and signature.valid(body, good.upper(), "t" * 32)
    assert not signature.valid(body + b" ", good, "t" * 32)
    assert not signature.valid(body, good, "u" * 32)
    assert not signature.valid(body, None, "t" * 32) and not signature.valid(body, "é", "t" * 32)


@pytest.mark.parametrize(
    ("error", "permanent", "unsubscribed", "retry_after"),
    [
        (ViberRefused("send_message", 6, "receiverNotSubscribed"), True, True, None),
        (ViberRefused("send_message", 5, "receiverNotRegistered"), True, True, None),
        (ViberRefused("send_message", 99, "notSubscribed"), True, True, None),
        (ViberRefused("send_message", 12, "tooManyRequests"), False, False, None),
        (ViberRefused("send_message", 3, "badData"), True, False, None),
        (ViberUnavailable("send_message", "HTTP 429", retry_after=3.0), False, False, 3.0),
        (ViberUnavailable("send_message", "HTTP 502"), False, False, None),
        (ViberUnavailable("send_message", "HTTP 404", permanent=True), True, False, None),
    ],
)
def test_refusals_map_to_delivery_errors(
    error: Exception, permanent: bool, unsubscribed: bool, retry_after: float | None
):
    with pytest.raises(DeliveryError) as caught, delivery.refusals():
        raise error
    assert caught.value.permanent is permanent and caught.value.retry_after == retry_after
    assert isinstance(caught.value, delivery.Unsubscribed) is unsubscribed


def test_long_texts_split_at_spaces_within_the_limit():
    text = "x" * 6990 + " " + "y" * 20
    assert split_text(text, delivery.MAX_TEXT) == ["x" * 6990, "y" * 20]
    assert [len(p) for p in split_text("z" * 14001, delivery.MAX_TEXT)] == [7000, 7000, 1]
