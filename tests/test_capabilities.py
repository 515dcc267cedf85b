"""What each channel declares it can show, and the core fitting messages to it in one place
(core/adapt.py) before the sender hands them over, part by part, once each."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bots.email.channel import EmailChannel
from bots.telegram.channel import TelegramChannel
from bots.viber.channel import ViberChannel
from bots.vk.channel import VkChannel
from bots.webchat.channel import WebchatChannel
from core import adapt
from core.bus import LocalBus
from core.channels import ButtonStyle, Capabilities, DeliveryError, Sent
from core.clock import utcnow
from core.db import Database
from core.desk import Desk
from core.messages import Inbound, Outbound, OutButton, split_text
from core.models import Delivery, OutboxItem
from core.sender import RetryPolicy, Sender
from tests.fakes.channel import FakeChannel

ADAPTERS = {
    "webchat": WebchatChannel,
    "telegram": TelegramChannel,
    "vk": VkChannel,
    "viber": ViberChannel,
    "email": EmailChannel,
}
README = Path(__file__).parent.parent / "README.md"


def test_every_adapter_declares_the_platforms_documented_figures():
    assert TelegramChannel.capabilities == Capabilities(
        # sendMessage: 1-4096 characters after entities parsing, counted in UTF-16 code
        # units; an inline keyboard row holds 8 buttons; bots edit their own messages.
        max_text=4096,
        utf16=True,
        buttons=ButtonStyle.CALLBACK,
        buttons_per_row=8,
        edits=True,
    )
    assert VkChannel.capabilities == Capabilities(
        # messages.send: 4096 characters; a keyboard line holds 5 buttons, the keyboard
        # under the input field 40 (dev.vk.com, "Keyboard"); messages.edit for our own.
        max_text=4096,
        buttons=ButtonStyle.CALLBACK,
        buttons_per_row=5,
        max_buttons=40,
        edits=True,
    )
    assert ViberChannel.capabilities == Capabilities(
        # A text message holds 7000 characters; the keyboard is a grid 6 columns wide; the
        # REST Bot API has no way to edit a sent message.
        max_text=7000,
        buttons=ButtonStyle.REPLY,
        buttons_per_row=6,
        edits=False,
    )
    # Mail has no length limit; buttons are links to the press page; a sent mail is final.
    assert EmailChannel.capabilities == Capabilities(max_text=None, buttons=ButtonStyle.LINKS)
    # The chat page shows any length; chips in lines as wide as the page, greyed out once
    # one is pressed.
    assert WebchatChannel.capabilities == Capabilities(
        max_text=None, buttons=ButtonStyle.CALLBACK, edits=True
    )
    assert all(not adapter.capabilities.files for adapter in ADAPTERS.values())


def _cells(can: Capabilities) -> list[str]:
    """A channel's row of the README table, as it must read."""
    units = "UTF-16 units" if can.utf16 else "characters"
    return [
        can.buttons.value,
        str(can.buttons_per_row or "—"),
        str(can.max_buttons or "—"),
        "yes" if can.edits else "no",
        ", ".join(sorted(can.files)) or "none: links",
        f"{can.max_text} {units}" if can.max_text else "no limit",
    ]


def test_the_readme_table_says_what_the_adapters_declare():
    section = README.read_text(encoding="utf-8").split("#### What each channel supports\n")[1]
    table = section.split("\n\n")[1]  # after the paragraph that introduces it
    rows = {}
    for line in table.splitlines()[2:]:
        found = re.fullmatch(r"\| `(\w+)` \|(.*)\|", line)
        assert found, f"not a row of the table: {line!r}"
        rows[found.group(1)] = [cell.strip() for cell in found.group(2).split("|")]
    assert rows.keys() == ADAPTERS.keys()
    for name, adapter in ADAPTERS.items():
        assert rows[name] == _cells(adapter.capabilities), name


def _out(text: str = "Hello", buttons=(), attachments=()) -> Outbound:
    return Outbound(
        outbox_id=7,
        message_id=1,
        inbox="x",
        external_id="c1",
        text=text,
        ticket_number=1,
        buttons=tuple(buttons),
        attachments=tuple(attachments),
    )


def test_a_long_text_goes_in_parts_within_the_limit_with_the_buttons_on_the_last():
    can = Capabilities(max_text=50, buttons=ButtonStyle.CALLBACK)
    words = " ".join(f"word{i}" for i in range(40))
    parts = adapt.parts(_out(words, [OutButton("b1", "OK")]), can, "en")
    assert len(parts) > 2 and all(len(p.text) <= 50 for p in parts)
    assert " ".join(p.text for p in parts) == words
    assert [p.part for p in parts] == list(range(len(parts)))
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert {p.key for p in parts} == {"otklik-7"}  # one row: the platform ids tell parts apart


def test_utf16_limits_count_emoji_twice():
    text = "🙂" * 3000  # 3000 characters, 6000 UTF-16 units
    pieces = split_text(text, 4096, utf16=True)
    assert [len(p) for p in pieces] == [2048, 952]
    assert split_text(text, 4096) == [text]


def test_buttons_are_laid_out_and_cut_to_what_the_channel_holds(caplog: pytest.LogCaptureFixture):
    can = Capabilities(
        max_text=None, buttons=ButtonStyle.CALLBACK, buttons_per_row=5, max_buttons=8
    )
    buttons = [OutButton(f"b{i}", str(i)) for i in range(6)]
    buttons += [OutButton(f"c{i}", f"c{i}", row=1) for i in range(4)]
    [part] = adapt.parts(_out(buttons=buttons), can, "en")
    assert [(b.id, b.row) for b in part.buttons] == [
        *[(f"b{i}", 0) for i in range(3)],
        *[(f"b{i}", 1) for i in range(3, 6)],  # 6 in a row of at most 5: 3 + 3
        ("c0", 2),
        ("c1", 2),
    ]
    assert "10 buttons are more than the channel shows, 8 sent" in caplog.text


def test_a_channel_without_buttons_gets_their_labels_to_reply_with():
    can = Capabilities(max_text=None, buttons=ButtonStyle.NONE)
    [part] = adapt.parts(
        _out("Did it arrive?", [OutButton("y", "Yes"), OutButton("n", "No")]), can, "en"
    )
    assert part.buttons == ()
    assert part.text == "Did it arrive?\n\nReply with one of these options:\n— Yes\n— No"


def test_files_a_channel_cannot_send_become_links_or_a_note():
    files = [
        {"kind": "image", "name": "receipt.jpg", "url": "https://files.example/r.jpg"},
        {"kind": "file", "name": "invoice.pdf"},
        {"kind": "video", "name": "how-to.mp4", "url": "https://files.example/v.mp4"},
    ]
    can = Capabilities(max_text=None, buttons=ButtonStyle.CALLBACK, files=frozenset({"video"}))
    [part] = adapt.parts(_out("Here you are", attachments=files), can, "ru")
    assert part.attachments == (files[2],)  # what the channel sends itself
    assert part.text == (
        "Here you are\n\n📎 receipt.jpg: https://files.example/r.jpg\n📎 invoice.pdf (этот "
        "файл нельзя отправить сюда; напишите нам, и мы пришлём его иначе)"
    )


class SecondSendFails(FakeChannel):
    """Takes the first message, fails the second once (a network error), then takes all."""

    def __init__(self, capabilities: Capabilities) -> None:
        super().__init__(capabilities=capabilities)
        self.calls = 0

    async def send(self, outbound: Outbound) -> Sent:
        self.calls += 1
        if self.calls == 2:
            raise DeliveryError("connection reset")
        return await super().send(outbound)


SHORT = Capabilities(max_text=20, buttons=ButtonStyle.CALLBACK)
TEXT = "one two three four five six seven eight nine ten eleven twelve"  # 4 parts of ≤ 20


async def _queued(desk: Desk, text: str = TEXT) -> None:
    await desk.sync_inboxes([("web", "webchat")])
    got = await desk.receive(Inbound(inbox="web", external_id="v1", text="hello"))
    await desk.reply(got.ticket_number, None, text)


async def _item(db: Database) -> OutboxItem:
    async with db.reading() as s:
        return (await s.scalars(select(OutboxItem))).one()


async def test_a_retry_after_a_partial_send_sends_only_the_parts_not_sent(desk: Desk, db: Database):
    await _queued(desk)
    now = utcnow()
    channel = SecondSendFails(SHORT)
    sender = Sender(db, {"web": channel}, LocalBus(), RetryPolicy(), clock=lambda: now)
    await sender.drain()
    item = await _item(db)
    assert item.status == Delivery.QUEUED and item.parts_sent == 1
    assert item.platform_message_id == "p1"  # the first part's, kept for the row
    now += timedelta(seconds=2)
    await sender.drain()
    item = await _item(db)
    assert item.status == Delivery.SENT and item.attempts == 2 and item.parts_sent == 4
    assert [o.text for o in channel.sent] == split_text(TEXT, 20)  # each part once, in order
    assert [o.part for o in channel.sent] == [0, 1, 2, 3]
    assert item.platform_message_id == "p1"


async def test_a_sender_that_died_mid_message_is_followed_from_the_next_part(
    desk: Desk, db: Database
):
    await _queued(desk)
    now = utcnow()
    async with db.transaction() as s:  # a sender sent two parts, recorded them, then died
        await s.execute(
            update(OutboxItem).values(
                status=Delivery.SENDING,
                attempts=1,
                parts_sent=2,
                platform_message_id="tg:41",
                claimed_until=now - timedelta(seconds=1),
            )
        )
    channel = FakeChannel(capabilities=SHORT)
    assert await Sender(db, {"web": channel}, LocalBus(), clock=lambda: now).drain() == 1
    assert [o.text for o in channel.sent] == split_text(TEXT, 20)[2:]
    item = await _item(db)
    assert item.status == Delivery.SENT and item.platform_message_id == "tg:41"


async def test_a_message_that_fits_is_one_platform_message_and_records_no_parts(
    desk: Desk, db: Database
):
    await _queued(desk, "short")
    channel = FakeChannel(capabilities=SHORT)
    await Sender(db, {"web": channel}, LocalBus()).drain()
    assert [o.text for o in channel.sent] == ["short"]
    item = await _item(db)
    assert item.status == Delivery.SENT and item.parts_sent == 0


class TakenOverMeanwhile(FakeChannel):
    """While the first part is out, another sender takes the row over (this one's lease ran
    out, the other claimed it again)."""

    def __init__(self, db: Database) -> None:
        super().__init__(capabilities=SHORT)
        self.db = db

    async def send(self, outbound: Outbound) -> Sent:
        async with self.db.transaction() as s:
            await s.execute(update(OutboxItem).values(attempts=OutboxItem.attempts + 1))
        return await super().send(outbound)


async def test_a_sender_whose_row_was_taken_over_stops_after_the_part_in_hand(
    desk: Desk, db: Database
):
    await _queued(desk)
    channel = TakenOverMeanwhile(db)
    await Sender(db, {"web": channel}, LocalBus()).drain()
    assert [o.part for o in channel.sent] == [0]  # the rest is the other sender's
    item = await _item(db)
    assert item.status == Delivery.SENDING and item.parts_sent == 0 and item.attempts == 2
