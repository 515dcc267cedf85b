"""One email inbox: its IMAP reading loop, its SMTP sender, its attachments folder.

A message is marked \\Seen in the mailbox only after the core stored it (or decided it opens
nothing: an auto-reply, a bounce); mail that cannot be read at all stays in the mailbox,
flagged for a person, with the reason in the log. A bounce of mail we sent fails that message
in the core, with the reason the report gives.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bots.email import delivery, translate, watch
from bots.email.bounce import Bounce
from bots.email.compose import compose
from bots.email.files import FileStore
from bots.email.parse import Mail, parse
from core.channels import ButtonStyle, Capabilities, Sent
from core.desk import Desk
from core.errors import InvalidInput
from core.i18n import text
from core.messages import Outbound
from settings.config import EmailInbox

log = logging.getLogger("otklik.email")
SEEN = "\\Seen"
FLAGGED = "\\Seen \\Flagged"  # kept for a person to look at
MAX_TRIES = 3  # a mail that keeps failing (not the database) is flagged, not retried for ever


class EmailChannel:
    # What email offers the core: texts of any length; buttons as links to their press page
    # (without web.public_url: as labels to reply with, bots/email/compose.py); no edits.
    # Files are not attached: they go as links.
    capabilities = Capabilities(max_text=None, buttons=ButtonStyle.LINKS)

    def __init__(
        self, inbox: EmailInbox, desk: Desk, locale: str, var_dir: Path, public_url: str = ""
    ) -> None:
        self.inbox = inbox
        self.desk = desk
        self.locale = locale
        self.public_url = public_url
        self.files = FileStore(var_dir / "email" / inbox.name)
        self._failures: dict[str, int] = {}  # Message-ID → failed tries

    # -- the core's side -------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Sent:
        mail = compose(outbound, self.inbox, self.locale, self.public_url)
        what = f"{outbound.external_id} (outbox {outbound.outbox_id})"
        try:
            await delivery.send(self.inbox.smtp, mail, what)
        except delivery.CustomerRefuses as exc:
            await self.desk.unreachable(self.inbox.name, outbound.external_id, exc.reason[:200])
            raise
        return Sent(platform_message_id=str(mail["Message-ID"]))

    async def open_file(self, file_id: str) -> bytes:
        return await self.files.open(file_id)

    # -- the mailbox's side ----------------------------------------------------------------

    async def handle(self, raw: bytes) -> str:
        """Store one fetched message; the flags to mark it with. Raises (and the message is
        read again later) when the core could not store it, e.g. the database is down."""
        try:
            mail = parse(raw)
        except Exception as exc:
            log.error(
                "inbox %s: unreadable message (%s bytes) left flagged: %s: %s",
                self.inbox.name,
                len(raw),
                type(exc).__name__,
                exc,
            )
            return FLAGGED
        for problem in mail.problems:
            log.warning("inbox %s: message %s: %s", self.inbox.name, mail.message_id, problem)
        if mail.bounce is None and (reason := self._ignored(mail)):
            log.info(
                "inbox %s: message %s from %r ignored: %s",
                self.inbox.name,
                mail.message_id,
                mail.sender,
                reason,
            )
            return SEEN
        if mail.bounce is None and not mail.sender:
            log.error(
                "inbox %s: message %s names no sender address, left flagged",
                self.inbox.name,
                mail.message_id,
            )
            return FLAGGED
        try:
            if mail.bounce is not None:
                await self._bounced(mail.message_id, mail.bounce)
                return SEEN
            found = await translate.inbound(
                self.inbox.name, mail, self.files, self.inbox.max_attachment_bytes
            )
            received = await self.desk.receive(found.inbound)
        except InvalidInput as exc:
            log.error(
                "inbox %s: message %s refused by the core, left flagged: %s",
                self.inbox.name,
                mail.message_id,
                exc,
            )
            return FLAGGED
        except (SQLAlchemyError, OSError):
            raise  # the database or the disk: read it again once they are back
        except Exception:  # something in this mail trips us: a few tries, then a person
            tries = self._failures[mail.message_id] = self._failures.get(mail.message_id, 0) + 1
            if tries < MAX_TRIES:
                raise
            log.exception(
                "inbox %s: message %s failed %s times, left flagged",
                self.inbox.name,
                mail.message_id,
                tries,
            )
            del self._failures[mail.message_id]
            return FLAGGED
        if not received.duplicate:
            for big in found.oversize:
                note = text(
                    self.locale,
                    "email.oversize_note",
                    name=big.name,
                    size=big.size,
                    limit=self.inbox.max_attachment_bytes,
                )
                await self.desk.note(received.ticket_number, None, note)
        return SEEN

    async def _bounced(self, message_id: str, bounce: Bounce) -> None:
        """Fail the message of ours the report names."""
        for sent in bounce.original_ids:
            if number := await self.desk.bounced(self.inbox.name, sent, bounce.reason):
                log.warning(
                    "inbox %s: message %s of ticket #%s bounced: %s",
                    self.inbox.name,
                    sent,
                    number,
                    bounce.reason,
                )
                return
        log.info(
            "inbox %s: bounce %s names no message of ours that was not failed already (%s)",
            self.inbox.name,
            message_id,
            ", ".join(bounce.original_ids) or "no Message-ID in it",
        )

    def _ignored(self, mail: Mail) -> str | None:
        if mail.automatic:
            return mail.automatic
        if mail.sender == self.inbox.address:
            return "sent from this inbox's own address"
        return None

    # -- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application, *, routes: bool = True) -> None:
        """Email has no routes; the start-up check of the settings."""
        app.on_startup.append(self._start)

    async def _start(self, _app: web.Application) -> None:
        if not self.public_url:
            log.warning(
                "inbox %s: web.public_url is not set, so buttons in emails are listed for "
                "the customer to reply with, not sent as links",
                self.inbox.name,
            )

    polls = True

    async def poll(self) -> None:
        """Read the mailbox (run by the leader), until cancelled."""
        await watch.watch(self.inbox, self.handle)
