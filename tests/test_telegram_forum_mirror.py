"""The agents' forum follows the inboxes its ``mirror`` names: a VK or email ticket gets a topic,
the customer's messages (and links to their files) appear in it, and an agent's answer in the
topic goes to the customer through the ticket's own channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core import queries
from core.db import Database
from core.messages import Inbound
from settings.config import ConfigError, parse_config
from tests.email_service import imap_server, mail
from tests.email_service import inbox as email_inbox
from tests.fakes.telegram import FakeTelegram
from tests.fakes.vk import FakeVk
from tests.mailserver import Dovecot, Outbox, smtp_server
from tests.service import Running, running, service_config
from tests.test_telegram import ALICE as TG_ALICE
from tests.test_telegram import TOKEN, free_port, tickets
from tests.test_telegram_forum import ANNA_TG, FORUM, agent_writes, in_topic, linked_anna, settled
from tests.vk_service import ALICE, GROUP, SECRET, vk
from tests.vk_service import TOKEN as VK_TOKEN
from tests.waiting import eventually

__all__ = ["imap_server", "vk"]  # fixtures

CONFIRMATION = "a1b2c3d4"


@dataclass
class Desk:
    svc: Running
    telegram: FakeTelegram
    vk: FakeVk
    imap: Dovecot
    smtp: Outbox

    async def settled(self) -> None:
        await settled(self.svc, self.telegram)

    def topics(self) -> list[dict[str, Any]]:
        return self.telegram.params_of("createForumTopic")


@pytest.fixture
async def desk(
    db: Database, database_url: str, tmp_path: Path, vk: FakeVk, imap_server: Dovecot
) -> AsyncIterator[Desk]:
    await imap_server.clear()
    port = free_port()
    async with FakeTelegram(TOKEN) as telegram, smtp_server() as (outbox, smtp_port):
        telegram.add_chat(FORUM)
        inboxes = [
            {
                "name": "tg",
                "channel": "telegram",
                "token": TOKEN,
                "api_server": telegram.base_url,
                "agents_chat_id": FORUM.id,
                "mirror": ["vk", "mail"],
            },
            {
                "name": "vk",
                "channel": "vk",
                "token": VK_TOKEN,
                "group_id": GROUP,
                "api_url": vk.base_url,
                "secret": SECRET,
                "confirmation": CONFIRMATION,
            },
            email_inbox(imap_server.port, smtp_port, max_attachment_bytes=1000),
            {"name": "site", "channel": "webchat"},  # not mirrored
        ]
        config = service_config(
            database_url,
            tmp_path,
            inbox=inboxes,
            web={"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"},
        )
        async with running(config, port=port) as svc:
            yield Desk(svc, telegram, vk, imap_server, outbox)


async def test_a_vk_ticket_gets_a_topic_and_the_agents_answer_goes_to_vk(desk: Desk):
    await linked_anna(desk.svc.state.db)
    doc = {"id": 7, "owner_id": ALICE.id, "title": "receipt.pdf", "url": "https://vk.com/doc7"}
    update = desk.vk.message_new(
        ALICE, "Where is my order?", attachments=[{"type": "doc", "doc": doc}]
    )
    status, body = await desk.vk.post(f"{desk.svc.url}/webhooks/vk/vk", update)
    assert (status, body) == (200, "ok")
    await desk.settled()
    [topic] = desk.topics()
    assert topic["chat_id"] == FORUM.id
    assert topic["name"] == "#1 · vk · Alice Smith · Where is my order?"
    thread = desk.telegram.calls_of("sendMessage")[0].params["message_thread_id"]
    assert in_topic(desk.telegram, thread) == [
        "👤 Alice Smith:\nWhere is my order?",
        "📎 receipt.pdf: https://vk.com/doc7",
    ]

    await agent_writes(desk.svc, desk.telegram, ANNA_TG, thread, "It ships today")
    assert [m.text for m in desk.vk.sent_to(ALICE.id)] == ["It ships today"]
    assert len(in_topic(desk.telegram, thread)) == 2  # the answer is not echoed
    assert [p["chat_id"] for p in desk.telegram.params_of("sendMessage")] == [FORUM.id] * 2
    [ticket] = await tickets(desk.svc.state.db)
    assert ticket.inbox.name == "vk" and ticket.assignee.login == "anna"

    await desk.vk.post(f"{desk.svc.url}/webhooks/vk/vk", desk.vk.message_new(ALICE, "Thanks!"))
    await desk.settled()
    assert in_topic(desk.telegram, thread)[-1] == "👤 Alice Smith:\nThanks!"
    assert len(desk.topics()) == 1


async def test_an_email_ticket_gets_a_topic_with_links_to_its_files(desk: Desk):
    await linked_anna(desk.svc.state.db)
    question = mail("See the invoice", subject="Wrong invoice")
    question.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="inv.pdf")
    question.add_attachment(b"x" * 5000, maintype="image", subtype="png", filename="scan.png")
    await desk.imap.append(question)
    await eventually(lambda: tickets(desk.svc.state.db))
    await desk.settled()
    [topic] = desk.topics()
    assert topic["name"] == "#1 · mail · Alice Smith · Wrong invoice"
    [ticket] = await tickets(desk.svc.state.db)
    message, note = await queries.messages(desk.svc.state.db, ticket.id)
    thread = desk.telegram.calls_of("sendMessage")[0].params["message_thread_id"]
    files = f"{desk.svc.state.config.web.public_url}/inbox/messages/{message.id}/files"
    assert in_topic(desk.telegram, thread) == [
        "👤 Alice Smith:\nSee the invoice",
        f"📎 inv.pdf: {files}/0\n📎 scan.png",  # too big to keep: named only
        f"📝 bot (internal note):\n{note.text}",
    ]

    await agent_writes(desk.svc, desk.telegram, ANNA_TG, thread, "A new one is attached.")
    await eventually(lambda: desk.smtp.received)
    [answer] = desk.smtp.received
    assert answer["To"] == "alice@example.org" and answer["Subject"] == "Re: [#1] Wrong invoice"
    assert answer["In-Reply-To"] == question["Message-ID"]


async def test_tickets_of_inboxes_not_mirrored_get_no_topic(desk: Desk):
    await desk.svc.state.desk.receive(Inbound(inbox="site", external_id="v1", text="Hello"))
    desk.telegram.push_update(TOKEN, desk.telegram.text_message(TOKEN, TG_ALICE, "Hi from TG"))
    await desk.settled()
    [topic] = desk.topics()
    assert topic["name"] == "#2 · Alice Smith · Hi from TG"  # its own inbox: named as before


def inboxes(**telegram: Any) -> list[dict[str, Any]]:
    return [
        {"name": "tg", "channel": "telegram", "token": TOKEN, **telegram},
        {"name": "tg2", "channel": "telegram", "token": TOKEN, "agents_chat_id": -100200},
        {"name": "tg3", "channel": "telegram", "token": TOKEN},
        {"name": "web", "channel": "webchat"},
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"inbox": inboxes(mirror=["web"])},
            "inbox[1].mirror: needs agents_chat_id, the forum the tickets are mirrored to",
        ),
        (
            {"inbox": inboxes(agents_chat_id=-100100, mirror=["web", "vk"])},
            'inbox[1].mirror[2]: unknown inbox "vk"; expected one of: tg2, tg3, web',
        ),
        (
            {"inbox": inboxes(agents_chat_id=-100100, mirror=["tg"])},
            "inbox[1].mirror[1]: the inbox's own tickets are in its forum already",
        ),
        (
            {"inbox": inboxes(agents_chat_id=-100100, mirror=["tg2"])},
            'inbox[1].mirror[1]: inbox "tg2" has a forum of its own (agents_chat_id)',
        ),
        (
            {
                "inbox": [
                    *inboxes(agents_chat_id=-100100, mirror=["web", "tg3"]),
                    {
                        "name": "tg4",
                        "channel": "telegram",
                        "token": TOKEN,
                        "agents_chat_id": -100300,
                        "mirror": ["web"],
                    },
                ]
            },
            'inbox[5].mirror[1]: inbox "web" is mirrored by inbox "tg" already',
        ),
    ],
)
def test_mirror_names_inboxes_without_a_forum_of_their_own(
    tmp_path: Path, config: dict[str, Any], expected: str
):
    with pytest.raises(ConfigError) as caught:
        parse_config(config, source="config.toml", base_dir=tmp_path)
    assert caught.value.problems == [expected]


def test_a_forum_may_mirror_several_inboxes(tmp_path: Path):
    raw = {"inbox": inboxes(agents_chat_id=-100100, mirror=["web", "tg3"])}
    config = parse_config(raw, source="config.toml", base_dir=tmp_path)
    assert config.inbox[0].mirror == ("web", "tg3")  # type: ignore[union-attr]
