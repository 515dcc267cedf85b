"""The inbox's IMAP session (aioimaplib): connect with the configured TLS, list unseen mail,
fetch a message without marking it, mark it once it was handled, wait with IDLE."""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import aioimaplib
from aioimaplib import Command

from settings.config import MailServer

TIMEOUT_SECONDS = 30.0
IDLE_SECONDS = 25 * 60  # servers drop an IDLE after 30 minutes (RFC 2177)


class MailboxError(Exception):
    """The IMAP server refused a command; the message names the command and the answer."""


class Mailbox:
    def __init__(self, imap: aioimaplib.IMAP4) -> None:
        self.imap = imap

    @property
    def idles(self) -> bool:
        return self.imap.has_capability("IDLE")

    async def unseen(self) -> list[str]:
        """The UIDs of messages not marked \\Seen, oldest first."""
        response = _ok(await self.imap.uid_search("UNSEEN", charset=None), "UID SEARCH")
        for line in response.lines:
            text = bytes(line).decode("ascii", "replace")
            if text and all(part.isdigit() for part in text.split()):
                return sorted(text.split(), key=int)
        return []

    async def fetch(self, uid: str) -> bytes | None:
        """The whole message, leaving it unseen (BODY.PEEK); None when it is gone."""
        response = _ok(await self.imap.uid("fetch", uid, "(BODY.PEEK[])"), f"UID FETCH {uid}")
        literals = [bytes(line) for line in response.lines if isinstance(line, bytearray)]
        return literals[0] if literals else None

    async def mark(self, uid: str, flags: str) -> None:
        _ok(await self.imap.uid("store", uid, "+FLAGS.SILENT", f"({flags})"), f"UID STORE {uid}")

    async def wait(self, seconds: float = IDLE_SECONDS) -> None:
        """Until the server tells of new mail (IDLE) or ``seconds`` pass."""
        idle = await self.imap.idle_start(timeout=seconds)
        try:
            while True:
                push = await self.imap.wait_server_push(timeout=seconds + 5)
                if push == aioimaplib.STOP_WAIT_SERVER_PUSH or any(
                    b"EXISTS" in bytes(line) or b"RECENT" in bytes(line) for line in push
                ):
                    return
        finally:
            if self.imap.has_pending_idle():
                self.imap.idle_done()
            await asyncio.wait_for(idle, TIMEOUT_SECONDS)

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection is being dropped anyway
            await asyncio.wait_for(self.imap.logout(), 5)


async def connect(server: MailServer) -> Mailbox:
    """A logged-in session with INBOX selected."""
    if server.tls == "ssl":
        imap: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
            server.host,
            server.port,
            timeout=TIMEOUT_SECONDS,
            ssl_context=ssl.create_default_context(),
        )
    else:
        imap = aioimaplib.IMAP4(server.host, server.port, timeout=TIMEOUT_SECONDS)
    await imap.wait_hello_from_server()
    mailbox = Mailbox(imap)
    try:
        if server.tls == "starttls":
            await _starttls(imap, server.host)
        response = await imap.login(server.user, server.password)
        if response.result != "OK":
            raise MailboxError(f"IMAP login as {server.user!r} refused: {_said(response)}")
        _ok(await imap.select("INBOX"), "SELECT INBOX")
    except BaseException:
        await mailbox.close()
        raise
    return mailbox


async def _starttls(imap: aioimaplib.IMAP4, host: str) -> None:
    """Upgrade the plain connection (aioimaplib has no STARTTLS verb of its own): the
    command, then TLS on the same transport, then the capabilities again (RFC 3501 6.2.1)."""
    protocol = imap.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise MailboxError(f"IMAP server {host} does not offer STARTTLS")
    _ok(
        await protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
        "STARTTLS",
    )
    loop = asyncio.get_running_loop()
    protocol.transport = await loop.start_tls(
        protocol.transport, protocol, ssl.create_default_context(), server_hostname=host
    )
    await protocol.capability()


def _ok(response: aioimaplib.Response, command: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise MailboxError(f"IMAP {command} failed: {_said(response)}")
    return response


def _said(response: aioimaplib.Response) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in response.lines)[:300]
