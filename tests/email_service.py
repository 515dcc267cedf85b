"""A running service with one email inbox over real mail servers (dovecot for IMAP,
aiosmtpd for SMTP), for the tests/test_email*.py files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from core import queries
from core.db import Database
from tests.mailserver import (
    PASSWORD,
    USER,
    Certificates,
    Dovecot,
    Outbox,
    dovecot,
    smtp_server,
)
from tests.service import Running, running, service_config
from tests.waiting import eventually

ADDRESS = "support@otklik.test"
ALICE = "alice@example.org"
RETRY_SECONDS = 0.3


@dataclass
class Mail:
    """The service with its mail servers."""

    svc: Running
    imap: Dovecot
    smtp: Outbox

    @property
    def db(self) -> Database:
        return self.svc.state.db

    async def tickets(self) -> list[Any]:
        found, _ = await queries.tickets(self.db, queries.TicketFilter(status=None))
        return sorted(found, key=lambda t: t.number)

    async def texts(self, number: int, internal: bool = False) -> list[str]:
        ticket = await queries.ticket(self.db, number)
        return [
            m.text
            for m in await queries.messages(self.db, ticket.id)
            if m.internal == internal and (internal or m.direction == "in")
        ]

    async def stored(self, count: int) -> None:
        """Wait until ``count`` customer messages are stored and the mailbox is all seen."""

        async def done() -> bool:
            stored = 0
            for ticket in await self.tickets():
                stored += len(await self.texts(ticket.number))
            flags = await self.imap.flags()
            return stored >= count and all("\\Seen" in f for f in flags)

        await eventually(done)

    async def sent(self, count: int) -> list[EmailMessage]:
        await eventually(lambda: len(self.smtp.received) >= count)
        return self.smtp.received


def mail(
    text: str,
    subject: str = "Order 1042",
    sender: str = f"Alice Smith <{ALICE}>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def dsn(
    original: EmailMessage | None,
    action: str = "failed",
    returned: str = "text/rfc822-headers",
    **headers: str,
) -> bytes:
    """A delivery status report as Postfix writes one for ``original`` (returned as its headers,
    as a whole message/rfc822, or not at all), with ``action`` failed or delayed."""
    to = str(original["To"]) if original is not None else "gone@example.net"
    status, said = (
        ("5.1.1", f"550 5.1.1 <{to}>: Recipient address rejected: User unknown")
        if action == "failed"
        else ("4.4.1", "connect to mx.example.net[192.0.2.1]:25: Connection timed out")
    )
    if original is None or returned == "none":
        returned_part = ""
    else:
        content = original.as_string() if returned == "message/rfc822" else _headers(original)
        returned_part = f"--B1\nContent-Type: {returned}\n\n{content}\n"
    extra = "".join(f"{name.replace('_', '-')}: {value}\n" for name, value in headers.items())
    text = f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {ADDRESS}
Subject: Undelivered Mail Returned to Sender
Message-ID: {make_msgid(domain="mx.example.net")}
Auto-Submitted: auto-replied
{extra}MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4C1D2E3F4A
Arrival-Date: Sun,  6 Dec 2026 08:00:00 +0000 (UTC)

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {said}

{returned_part}--B1--
"""
    return text.replace("\n", "\r\n").encode()


def _headers(message: EmailMessage) -> str:
    return "".join(f"{name}: {value}\n" for name, value in message.items())


def inbox(imap_port: int, smtp_port: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "mail",
        "channel": "email",
        "title": "Acme support",
        "address": ADDRESS,
        "imap": {
            "host": "127.0.0.1",
            "port": imap_port,
            "user": USER,
            "password": PASSWORD,
            "tls": "none",
        },
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "user": "otklik",
            "password": "smtp-test-password",
            "tls": "none",
        },
        "poll_seconds": 1,
        **changes,
    }


@pytest.fixture(scope="module")
async def imap_server() -> AsyncIterator[Dovecot]:
    async with dovecot() as server:
        yield server


@pytest.fixture(scope="module")
async def polled_imap_server() -> AsyncIterator[Dovecot]:
    async with dovecot(idle=False) as server:
        yield server


async def serve(
    url: str,
    tmp: Path,
    imap: Dovecot,
    rules: str | None = None,
    tls: Certificates | None = None,
    **changes: Any,
) -> AsyncIterator[Mail]:
    """The service over ``imap`` and a new SMTP server; with ``tls``, IMAP over TLS and SMTP
    with STARTTLS, both trusting the test CA (``ca_file``)."""
    await imap.clear()
    async with smtp_server(tls, starttls=True) as (outbox, port):
        settings = inbox(imap.port, port, **changes)
        if tls:
            secure = {"tls": "ssl", "port": imap.tls_port, "ca_file": str(tls.ca)}
            settings["imap"] = {**settings["imap"], **secure}
            settings["smtp"] = {**settings["smtp"], "tls": "starttls", "ca_file": str(tls.ca)}
        config = service_config(
            url,
            tmp,
            inbox=[settings],
            sender={"first_retry_seconds": RETRY_SECONDS},
        )
        if rules:
            (config.rules_dir / "mail.toml").write_text(rules, encoding="utf-8")
        async with running(config) as svc:
            yield Mail(svc, imap, outbox)


@pytest.fixture
async def m(db: Database, database_url: str, tmp_path: Path, imap_server: Dovecot):
    async for service in serve(database_url, tmp_path, imap_server):
        yield service
