"""The inbox's reading loop: every unseen message is handled, then marked, one at a time;
then IDLE until new mail (or a nap of ``poll_seconds`` where the server has no IDLE).

Marking \\Seen comes only after the handler returned, i.e. after the core stored the
message: a crash in between reads it again, and the core drops the repeat by Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bots.email.imap import Mailbox, connect
from core.stopping import unless_stopped
from settings.config import EmailInbox

log = logging.getLogger("otklik.email")
# The handler's verdict for a message: the flags to set (\Seen, plus \Flagged when a person
# should look at it in the mailbox); it raises when the message should be read again later.
Handler = Callable[[bytes], Awaitable[str]]
# IDLE is renewed this often, and the inbox searched again: mail that arrived between a search
# and the IDLE that followed it waits no longer than this.
RECHECK_SECONDS = 300.0


async def watch(inbox: EmailInbox, handle: Handler) -> None:
    """Read the inbox until cancelled; a failure reconnects after a growing pause."""
    pause = 1.0
    while True:
        unless_stopped()
        mailbox: Mailbox | None = None
        try:
            mailbox = await connect(inbox.imap)
            log.info(
                "inbox %s: reading %s@%s (%s)",
                inbox.name,
                inbox.imap.user,
                inbox.imap.host,
                "IDLE" if mailbox.idles else f"every {inbox.poll_seconds:g}s",
            )
            while True:
                unless_stopped()
                await read_unseen(mailbox, handle, inbox.name)
                pause = 1.0
                if mailbox.idles:
                    await mailbox.wait(RECHECK_SECONDS)
                else:
                    await asyncio.sleep(inbox.poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server, the network or our database
            unless_stopped()
            log.warning(
                "inbox %s: IMAP failed (%s: %s), again in %ss",
                inbox.name,
                type(exc).__name__,
                exc,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 60.0)
        finally:
            if mailbox is not None:
                await mailbox.close()


async def read_unseen(mailbox: Mailbox, handle: Handler, name: str) -> int:
    """Handle and mark every unseen message, and search again while the server told of new
    mail meanwhile (an IDLE after this would not hear of that mail); how many were handled."""
    handled = 0
    while True:
        unless_stopped()
        arrivals = mailbox.arrivals
        for uid in await mailbox.unseen():
            raw = await mailbox.fetch(uid)
            if raw is None:
                log.info("inbox %s: message uid %s is gone", name, uid)
                continue
            await mailbox.mark(uid, await handle(raw))
            handled += 1
        if mailbox.arrivals == arrivals:
            return handled
