"""The inbox's IMAP session (aioimaplib): connect with the configured TLS, list unseen mail,
fetch a message without marking it, mark it once it was handled, wait with IDLE."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

import aioimaplib
from aioimaplib import Command

from settings.config import MailServer

TIMEOUT_SECONDS = 30.0
IDLE_SECONDS = 25 * 60  # servers drop an IDLE after 30 minutes (RFC 2177)


class MailboxError(Exception):
    """The IMAP server refused a command; the message names the command and the answer."""


class _Protocol(aioimaplib.IMAP4ClientProtocol):
    """aioimaplib's protocol, counting the server's news of mail (``* N EXISTS`` with more
    messages than before). The library hands such news to a running IDLE and drops it when it
    comes in the answer to another command (a SEARCH, FETCH or STORE); the server never repeats
    it, so an IDLE that follows would wait for the next message before reading this one. The
    count is followed through expunges, and a server that repeats an unchanged count is no
    news."""

    arrivals = 0
    exists: int | None = None  # the messages in the mailbox, as the server last told

    def _untagged_response(self, line: bytes) -> aioimaplib.Command:
        words = line.removeprefix(b"* ").split()
        if len(words) == 2 and words[0].isdigit():
            count, kind = int(words[0]), words[1].upper()
            if kind == b"EXISTS":
                if self.exists is not None and count > self.exists:
                    self.arrivals += 1
                self.exists = count
            elif kind == b"EXPUNGE" and self.exists:
                self.exists -= 1
        return super()._untagged_response(line)


class _Client(aioimaplib.IMAP4):
    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        running = loop or asyncio.get_running_loop()
        protocol = self.protocol = _Protocol(running, conn_lost_cb)
        self._client_task = running.create_task(
            running.create_connection(lambda: protocol, host, port, ssl=ssl_context)
        )


class Mailbox:
    def __init__(self, imap: _Client) -> None:
        self.imap = imap

    @property
    def idles(self) -> bool:
        return self.imap.has_capability("IDLE")

    @property
    def arrivals(self) -> int:
        """How many times the server told of new mail in this session (see ``_Protocol``)."""
        protocol = self.imap.protocol
        assert isinstance(protocol, _Protocol)
        return protocol.arrivals

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
    imap = _Client(
        server.host,
        server.port,
        timeout=TIMEOUT_SECONDS,
        ssl_context=server.tls_context() if server.tls == "ssl" else None,
    )
    await imap.wait_hello_from_server()
    mailbox = Mailbox(imap)
    try:
        if server.tls == "starttls":
            await _starttls(imap, server)
        response = await imap.login(server.user, server.password)
        if response.result != "OK":
            raise MailboxError(f"IMAP login as {server.user!r} refused: {_said(response)}")
        _ok(await imap.select("INBOX"), "SELECT INBOX")
    except BaseException:
        await mailbox.close()
        raise
    return mailbox


async def _starttls(imap: _Client, server: MailServer) -> None:
    """Upgrade the plain connection (aioimaplib has no STARTTLS verb of its own): the
    command, then TLS on the same transport, then the capabilities again (RFC 3501 6.2.1)."""
    protocol = imap.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise MailboxError(f"IMAP server {server.host} does not offer STARTTLS")
    _ok(
        await protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
        "STARTTLS",
    )
    loop = asyncio.get_running_loop()
    protocol.transport = await loop.start_tls(
        protocol.transport, protocol, server.tls_context(), server_hostname=server.host
    )
    await protocol.capability()


def _ok(response: aioimaplib.Response, command: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise MailboxError(f"IMAP {command} failed: {_said(response)}")
    return response


def _said(response: aioimaplib.Response) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in response.lines)[:300]
