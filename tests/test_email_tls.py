"""Email over TLS: IMAP (TLS from the first byte, or STARTTLS) and SMTP (the same two) against
servers whose certificate a CA of the test's own signed. The server's certificate is checked:
with the CA as ``ca_file`` the connection is made, without it it is refused."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.email import delivery
from bots.email.imap import connect
from bots.email.watch import read_unseen
from core.channels import DeliveryError
from core.db import Database
from settings.config import MailServer
from tests.email_service import ALICE, mail, serve
from tests.mailserver import (
    PASSWORD,
    USER,
    Certificates,
    Dovecot,
    dovecot,
    make_certificates,
    smtp_server,
)

MODES = ["ssl", "starttls"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
async def tls_dovecot(certificates: Certificates) -> AsyncIterator[Dovecot]:
    async with dovecot(tls=certificates) as server:
        yield server


def imap_at(server: Dovecot, tls: str, ca_file: Path | None) -> MailServer:
    port = server.tls_port if tls == "ssl" else server.port
    return MailServer(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, tls=tls, ca_file=ca_file
    )


@pytest.mark.parametrize("tls", MODES)
async def test_imap_over_tls_trusting_the_configured_ca(
    tls_dovecot: Dovecot, certificates: Certificates, tls: str
):
    await tls_dovecot.clear()
    await tls_dovecot.append(mail("Over TLS"))
    mailbox = await connect(imap_at(tls_dovecot, tls, certificates.ca))
    try:
        assert mailbox.imap.protocol.transport.get_extra_info("ssl_object") is not None
        handled: list[bytes] = []

        async def store(raw: bytes) -> str:
            handled.append(raw)
            return "\\Seen"

        assert await read_unseen(mailbox, store, "mail") == 1
        assert b"Over TLS" in handled[0]
    finally:
        await mailbox.close()


@pytest.mark.parametrize("tls", MODES)
async def test_imap_refuses_a_certificate_no_trusted_ca_signed(tls_dovecot: Dovecot, tls: str):
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(imap_at(tls_dovecot, tls, None))


def smtp_at(port: int, tls: str, ca_file: Path | None) -> MailServer:
    return MailServer(
        host="127.0.0.1", port=port, user="otklik", password="p", tls=tls, ca_file=ca_file
    )


@pytest.mark.parametrize("tls", MODES)
async def test_smtp_over_tls_trusting_the_configured_ca(certificates: Certificates, tls: str):
    async with smtp_server(certificates, starttls=tls == "starttls") as (outbox, port):
        await delivery.send(smtp_at(port, tls, certificates.ca), mail("Hello"), "a test mail")
    assert [m["Subject"] for m in outbox.received] == ["Order 1042"]
    assert outbox.encrypted == [True]


@pytest.mark.parametrize("tls", MODES)
async def test_smtp_refuses_a_certificate_no_trusted_ca_signed(
    certificates: Certificates, tls: str
):
    async with smtp_server(certificates, starttls=tls == "starttls") as (outbox, port):
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await delivery.send(smtp_at(port, tls, None), mail("Hello"), "a test mail")
    assert not caught.value.permanent  # the config may be fixed: retried, not given up
    assert outbox.received == []


async def test_a_ticket_comes_and_its_answer_goes_over_tls(
    db: Database,
    database_url: str,
    tmp_path: Path,
    tls_dovecot: Dovecot,
    certificates: Certificates,
):
    async for m in serve(database_url, tmp_path, tls_dovecot, tls=certificates):
        await m.imap.append(mail("Where is my parcel?"))
        await m.stored(1)
        [ticket] = await m.tickets()
        await m.svc.state.desk.reply(ticket.number, None, "It ships today.")
        await m.svc.delivered()
        [answer] = await m.sent(1)
        assert answer["To"] == ALICE and m.smtp.encrypted == [True]
