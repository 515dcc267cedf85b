"""The email channel end to end: the real adapter reading a real dovecot by IMAP (IDLE, or
polling) and sending to a real SMTP server (aiosmtpd); threading by header and by subject."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bots.email import imap, translate
from bots.email.imap import connect
from bots.email.watch import read_unseen
from core import queries
from core.db import Database
from core.inbound import SUBJECT_LENGTH
from core.messages import Button
from core.models import Delivery, Identity, OutboxItem, TicketStatus
from settings.config import MailServer
from tests.email_service import (
    ALICE,
    Mail,
    dsn,
    imap_server,
    m,
    mail,
    polled_imap_server,
    serve,
)
from tests.mailserver import PASSWORD, USER, Dovecot
from tests.people import make_agent
from tests.waiting import eventually

__all__ = ["imap_server", "m", "polled_imap_server"]  # fixtures


async def first_ticket(m: Mail, message: EmailMessage) -> int:
    await m.imap.append(message)
    await m.stored(1)
    [ticket] = await m.tickets()
    return ticket.number


async def reply(m: Mail, number: int, text: str, count: int) -> EmailMessage:
    await m.svc.state.desk.reply(number, None, text)
    await m.svc.delivered()
    return (await m.sent(count))[-1]


async def test_an_email_opens_a_ticket_and_the_reply_goes_out_threaded(m: Mail):
    question = mail("Where is my parcel?\nIt is late.", subject="Order 1042")
    number = await first_ticket(m, question)
    ticket = (await m.tickets())[0]
    assert ticket.subject == "Order 1042" and ticket.inbox.name == "mail"
    assert ticket.customer.name == "Alice Smith" and ticket.customer.email == ALICE
    assert ticket.identity.external_id == ALICE
    assert await m.texts(number) == ["Where is my parcel?\nIt is late."]

    answer = await reply(m, number, "It ships today.\n\nRegards", 1)
    assert answer["Subject"] == f"Re: [#{number}] Order 1042"
    assert answer["To"] == ALICE and answer["From"] == "Acme support <support@otklik.test>"
    assert answer["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in answer["References"]
    assert answer["Message-ID"].endswith("@otklik.test>")
    plain = answer.get_body(("plain",))
    html = answer.get_body(("html",))
    assert plain is not None and "It ships today." in plain.get_content().replace("\r\n", "\n")
    assert html is not None and "<p>It ships today.</p>" in html.get_content()
    assert f"[#{number}]" in plain.get_content()  # the footer asks to keep the tag
    async with m.db.reading() as s:
        [row] = (await s.scalars(select(OutboxItem))).all()
    assert row.status == Delivery.SENT and row.platform_message_id == answer["Message-ID"]


async def test_the_customers_reply_joins_the_ticket_by_its_headers(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    answer = await reply(m, number, "It ships today.", 1)
    again = mail(
        "Thanks! And the invoice?",
        subject="Something else entirely",
        In_Reply_To=answer["Message-ID"],
        References=answer["References"] + " " + answer["Message-ID"],
    )
    await m.imap.append(again)
    await m.stored(2)
    [ticket] = await m.tickets()
    assert await m.texts(ticket.number) == ["Where is my parcel?", "Thanks! And the invoice?"]
    second = await reply(m, number, "Attached.", 2)
    assert second["In-Reply-To"] == again["Message-ID"]  # the customer's last mail


async def test_a_ticket_number_in_the_subject_joins_only_the_same_customers_ticket(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    await m.imap.append(mail("One more thing", subject=f"Re: [#{number}] Order 1042"))
    await m.stored(2)
    await m.imap.append(
        mail("Let me in", subject=f"[#{number}] hello", sender="Mallory <mallory@example.net>")
    )
    await m.stored(3)
    first, other = await m.tickets()
    assert await m.texts(first.number) == ["Where is my parcel?", "One more thing"]
    assert other.customer.email == "mallory@example.net" and other.subject == "hello"


async def test_an_unrelated_mail_of_the_same_customer_opens_another_ticket(m: Mail):
    await first_ticket(m, mail("Where is my parcel?"))
    await m.imap.append(mail("Do you sell gift cards?", subject="Gift cards"))
    await m.stored(2)
    first, second = await m.tickets()
    assert first.customer_id == second.customer_id
    assert second.subject == "Gift cards" and first.status == second.status == TicketStatus.NEW


async def test_a_reply_to_a_closed_ticket_opens_a_new_one(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    answer = await reply(m, number, "It ships today.", 1)
    closer = await make_agent(m.db, "ann")
    await m.svc.state.desk.set_status(number, closer, TicketStatus.CLOSED)
    await m.imap.append(mail("It never came", In_Reply_To=answer["Message-ID"]))
    await m.stored(2)
    first, second = await m.tickets()
    assert first.status == TicketStatus.CLOSED and await m.texts(second.number) == ["It never came"]


async def test_a_replayed_message_is_stored_once(m: Mail):
    message = mail("Where is my parcel?")
    await first_ticket(m, message)
    await m.imap.append(message)  # the same Message-ID filed again
    await m.stored(1)
    await m.imap.append(mail("Next"))
    await m.stored(2)  # the replay was read before this one
    tickets = await m.tickets()
    texts = [t for ticket in tickets for t in await m.texts(ticket.number)]
    assert sorted(texts) == ["Next", "Where is my parcel?"]


async def test_auto_replies_and_bounces_open_nothing(m: Mail):
    await m.imap.append(mail("I am on holiday", Auto_Submitted="auto-replied"))
    await m.imap.append(mail("Weekly news", Precedence="bulk"))
    await m.imap.append(
        mail("Undeliverable", sender="Mail Delivery System <MAILER-DAEMON@example.org>")
    )
    bounce = (
        b"From: Delivery <daemon@example.net>\r\nTo: support@otklik.test\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\nMessage-ID: <dsn-1@example.net>\r\n"
        b'Content-Type: multipart/report; report-type="delivery-status"; boundary="b1"\r\n'
        b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; example.net\r\n\r\nFinal-Recipient: rfc822; gone@example.net\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n--b1--\r\n"
    )
    await m.imap.append(bounce)
    await m.imap.append(mail("A real question"))
    await m.stored(1)
    [ticket] = await m.tickets()
    assert await m.texts(ticket.number) == ["A real question"]
    assert all("\\Seen" in flags for flags in await m.imap.flags())


async def outbox_row(m: Mail) -> OutboxItem:
    async with m.db.reading() as s:
        [row] = (await s.scalars(select(OutboxItem))).all()
    return row


@pytest.mark.parametrize("returned", ["text/rfc822-headers", "message/rfc822", "none"])
async def test_a_bounce_fails_the_message_it_returns_with_a_note(m: Mail, returned: str):
    number = await first_ticket(m, mail("Where is my parcel?"))
    answer = await reply(m, number, "It ships today.\nRegards", 1)
    assert (await outbox_row(m)).status == Delivery.SENT
    # Postfix returns the headers, others the whole mail; a report without either is matched
    # by its In-Reply-To.
    await m.imap.append(dsn(answer, returned=returned, In_Reply_To=answer["Message-ID"]))
    await eventually(lambda: _failed(m))
    row = await outbox_row(m)
    reason = f"{ALICE}: 550 5.1.1 <{ALICE}>: Recipient address rejected: User unknown"
    assert row.last_error == reason
    [note] = await m.texts(number, internal=True)
    assert note == (
        f"Delivery failed: the mail server returned the email “It ships today. Regards”: "
        f"{reason}. The customer did not get it."
    )
    async with m.db.reading() as s:
        identity = await s.scalar(select(Identity).where(Identity.external_id == ALICE))
    assert identity is not None and identity.unreachable_since is not None
    await m.stored(1)  # the report opened no ticket and is marked seen
    assert len(await m.tickets()) == 1


async def _failed(m: Mail) -> bool:
    return (await outbox_row(m)).status == Delivery.FAILED


async def test_delay_reports_and_bounces_of_mail_not_ours_change_nothing(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    answer = await reply(m, number, "It ships today.", 1)
    await m.imap.append(dsn(answer, action="delayed"))  # still trying: not a failure
    stranger = mail("Spam", sender="someone@example.org")
    await m.imap.append(dsn(stranger))  # mail someone else sent in our name
    await m.imap.append(mail("And the invoice?", In_Reply_To=answer["Message-ID"]))
    await m.stored(2)  # read after the reports
    row = await outbox_row(m)
    assert row.status == Delivery.SENT and row.last_error is None
    assert await m.texts(number, internal=True) == []
    assert len(await m.tickets()) == 1


async def test_attachments_are_kept_up_to_the_limit_and_oversize_ones_noted(
    db: Database, database_url: str, tmp_path: Path, imap_server: Dovecot
):
    async for mx in serve(database_url, tmp_path, imap_server, max_attachment_bytes=1000):
        message = mail("See the files")
        message.add_attachment(
            b"small file", maintype="application", subtype="pdf", filename="invoice.pdf"
        )
        message.add_attachment(b"x" * 5000, maintype="image", subtype="png", filename="big.png")
        number = await first_ticket(mx, message)
        ticket = (await mx.tickets())[0]
        [stored] = [msg for msg in await queries.messages(mx.db, ticket.id) if not msg.internal]
        small, big = stored.attachments
        assert small["name"] == "invoice.pdf" and small["size"] == 10 and small["file_id"]
        assert big["name"] == "big.png" and big["size"] == 5000 and "file_id" not in big
        channel = mx.svc.state.channels["mail"]
        assert await channel.open_file(small["file_id"]) == b"small file"  # type: ignore[attr-defined]
        [note] = await mx.texts(number, internal=True)
        assert "big.png" in note and "5000" in note and "not stored" in note


async def test_a_refused_recipient_fails_the_message_for_good_with_a_note(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    m.smtp.refuse.add(ALICE)
    await m.svc.state.desk.reply(number, None, "It ships today.")
    await m.svc.delivered()
    async with m.db.reading() as s:
        [row] = (await s.scalars(select(OutboxItem))).all()
        identity = await s.scalar(select(Identity).where(Identity.external_id == ALICE))
    assert row.status == Delivery.FAILED and row.attempts == 1
    assert "550" in (row.last_error or "") and "No such user" in (row.last_error or "")
    assert identity is not None and identity.unreachable_since is not None
    [note] = await m.texts(number, internal=True)
    assert note.startswith("Delivery failed") and "550" in note
    assert m.smtp.received == []


async def test_a_temporary_smtp_failure_is_retried(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    m.smtp.defer[ALICE] = 2
    await m.svc.state.desk.reply(number, None, "It ships today.")
    [sent] = await m.sent(1)
    assert "It ships today." in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    await m.svc.delivered()
    async with m.db.reading() as s:
        [row] = (await s.scalars(select(OutboxItem))).all()
    assert row.status == Delivery.SENT and row.attempts == 3
    assert m.smtp.defer[ALICE] == 0


SEND_EMAIL = """
[[rule]]
id = "acknowledge"
on = "ticket.created"
[[rule.then]]
action = "send_email"
subject = "We have your request"
text = "Dear {{ customer.name }}, we have request #{{ ticket.number }}."
"""


async def test_the_send_email_rule_action_sends_through_the_email_inbox(
    db: Database, database_url: str, tmp_path: Path, imap_server: Dovecot
):
    async for mx in serve(database_url, tmp_path, imap_server, rules=SEND_EMAIL):
        number = await first_ticket(mx, mail("Where is my parcel?"))
        [sent] = await mx.sent(1)
        assert sent["Subject"] == f"[#{number}] We have your request"
        assert sent["To"] == ALICE
        body = sent.get_body(("plain",))
        assert body is not None
        assert f"Dear Alice Smith, we have request #{number}." in body.get_content()


async def test_without_idle_the_mailbox_is_polled(
    db: Database, database_url: str, tmp_path: Path, polled_imap_server: Dovecot
):
    async for mx in serve(database_url, tmp_path, polled_imap_server):
        await mx.imap.append(mail("Anyone there?"))
        await mx.stored(1)
        await mx.imap.append(mail("Hello?", subject="Second"))
        await mx.stored(2)
        assert len(await mx.tickets()) == 2


async def test_malformed_mail_is_stored_with_what_could_be_read(m: Mail):
    raw = (
        b"From: =?bogus-charset?B?QWxpY2U=?= <alice@example.org>\r\n"
        b"To: support@otklik.test\r\n"
        b"Subject: " + b"x" * 5000 + b"\r\n"
        b"Message-ID: <broken-1@example.org>\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n"
        b"\r\n"
        b"Caf\xe9 au lait\r\n"
    )
    await m.imap.append(raw)
    await m.imap.append(b"From: nobody\r\nSubject: no address\r\n\r\nwho am I\r\n")
    await m.stored(1)
    [ticket] = await m.tickets()
    [text] = await m.texts(ticket.number)
    assert text == "Caf\ufffd au lait"
    assert ticket.customer.email == ALICE and ticket.customer.name == "Alice"
    assert ticket.subject == "x" * SUBJECT_LENGTH  # cut to a ticket's subject, not refused
    stored, nameless = [set(f.split()) for f in await m.imap.flags()]
    assert stored == {"\\Seen"}
    assert nameless == {"\\Seen", "\\Flagged"}  # the mail without a sender, kept for a person


async def test_buttons_are_listed_for_the_customer_to_reply_with(m: Mail):
    number = await first_ticket(m, mail("Where is my parcel?"))
    await m.svc.state.desk.reply(
        number, None, "Did it arrive?", [Button("Yes", "got:yes"), Button("No", "got:no")]
    )
    [sent] = await m.sent(1)
    plain = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert plain is not None and html is not None
    assert (
        "Reply to this email with one of these options:\n  • Yes\n  • No"
        in plain.get_content().replace("\r\n", "\n")
    )
    assert "<li><b>Yes</b></li><li><b>No</b></li>" in html.get_content()


async def test_a_message_the_core_could_not_store_stays_unseen_and_is_read_again(
    imap_server: Dovecot,
):
    await imap_server.clear()
    await imap_server.append(mail("Where is my parcel?"))
    server = MailServer(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, tls="none"
    )
    mailbox = await connect(server)
    try:

        async def database_down(raw: bytes) -> str:
            raise ConnectionError("database is down")

        with pytest.raises(ConnectionError):
            await read_unseen(mailbox, database_down, "mail")
        assert not any("\\Seen" in flags for flags in await imap_server.flags())
        handled: list[bytes] = []

        async def store(raw: bytes) -> str:
            handled.append(raw)
            return "\\Seen"

        assert await read_unseen(mailbox, store, "mail") == 1
        assert b"Where is my parcel?" in handled[0]
        assert await read_unseen(mailbox, store, "mail") == 0  # marked: never twice
    finally:
        await mailbox.close()


async def test_mail_arriving_while_another_is_handled_is_read_in_the_same_pass(
    imap_server: Dovecot,
):
    # The server tells of the second mail in its answer to our FETCH or STORE of the first, and
    # never again: a reader that went to IDLE now would leave it until the next IDLE renewal.
    await imap_server.clear()
    await imap_server.append(mail("Where is my parcel?"))
    server = MailServer(
        host="127.0.0.1", port=imap_server.port, user=USER, password=PASSWORD, tls="none"
    )
    mailbox = await connect(server)
    try:
        handled: list[bytes] = []

        async def store(raw: bytes) -> str:
            if not handled:
                await imap_server.append(mail("And the invoice?"))
            handled.append(raw)
            return "\\Seen"

        assert await read_unseen(mailbox, store, "mail") == 2
        assert b"And the invoice?" in handled[1]
        assert [set(f.split()) for f in await imap_server.flags()] == [{"\\Seen"}] * 2
    finally:
        await mailbox.close()


async def test_only_a_grown_mailbox_counts_as_news_of_mail():
    # Some servers repeat "* N EXISTS" with every answer: that is no new mail, and a reader
    # that searched again for it would never go to IDLE.
    protocol = imap._Protocol(asyncio.get_running_loop(), None)
    told = [b"* 2 EXISTS", b"* 2 EXISTS", b"* 3 EXISTS", b"* 3 EXISTS"]
    told += [b"* 1 EXPUNGE", b"* 3 EXISTS", b"* 3 RECENT"]
    for line in told:
        protocol._untagged_response(line)
    assert protocol.arrivals == 2 and protocol.exists == 3


async def test_a_mail_that_keeps_failing_is_flagged_and_the_rest_go_on(
    m: Mail, monkeypatch: pytest.MonkeyPatch
):
    real = translate.inbound

    async def tripping(inbox: str, parsed: Any, *args: Any) -> Any:
        if parsed.subject == "poison":
            raise ValueError("a bug this mail trips")
        return await real(inbox, parsed, *args)

    monkeypatch.setattr(translate, "inbound", tripping)
    await m.imap.append(mail("bad", subject="poison"))
    await m.imap.append(mail("Where is my parcel?"))
    await m.stored(1)
    [ticket] = await m.tickets()
    assert await m.texts(ticket.number) == ["Where is my parcel?"]
    assert "\\Flagged" in (await m.imap.flags())[0]


async def test_a_long_reply_goes_whole_in_one_mail(m: Mail):
    number = await first_ticket(m, mail("Tell me everything"))
    long = "\n".join(f"Line {i}: every step of the order, explained at length." for i in range(300))
    await m.svc.state.desk.reply(number, None, long, [Button("Thanks", "thanks")])
    await m.svc.delivered()
    [sent] = await m.sent(1)  # email has no length limit: one mail, however long
    plain = sent.get_body(("plain",))
    assert plain is not None and long in plain.get_content().replace("\r\n", "\n")
    assert "  • Thanks" in plain.get_content().replace("\r\n", "\n")  # its button, listed
