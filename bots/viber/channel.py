"""One Viber inbox: its API client, its webhook, its sender.

Nothing is acknowledged to Viber before it is stored: the webhook answers 200 only after the
callback was handled (an error answers 500, and Viber delivers the callback again), and a
message delivered twice is stored once (by its ``message_token``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web
from redis.asyncio import Redis

from bots.viber import delivery, signature
from bots.viber.api import ViberApi, ViberError, ViberRefused
from bots.viber.callbacks import UNSUBSCRIBED, Callbacks
from bots.viber.wire import Callback
from core.channels import Sent
from core.desk import Desk
from core.messages import Outbound
from core.seen import RecentUpdates, RedisUpdates, Seen
from core.stopping import unless_stopped
from settings.config import ViberInbox

log = logging.getLogger("otklik.viber")
EVENTS = ["failed", "subscribed", "unsubscribed", "conversation_started"]
INVALID_TOKEN = 2
MAX_PAUSE = 300.0


class ViberChannel:
    capabilities = delivery.CAPABILITIES

    def __init__(
        self,
        inbox: ViberInbox,
        desk: Desk,
        locale: str,
        public_url: str,
        *,
        redis: Redis | None = None,
        prefix: str = "otklik",
    ) -> None:
        """With ``redis``, the messages seen are shared with every process serving the bot."""
        self.inbox = inbox
        self.desk = desk
        self.api = ViberApi(inbox.token, inbox.api_url)
        seen: Seen = RecentUpdates()
        if redis is not None:
            seen = RedisUpdates(redis, f"viber:{inbox.name}", prefix=prefix)
        self.callbacks = Callbacks(inbox, desk, self.api, locale, seen)
        self.webhook_url = f"{public_url}{self.path}"
        self._registering: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return f"/webhooks/viber/{self.inbox.name}"

    # -- the core's side -------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Sent:
        try:
            return await delivery.send(self.api, outbound, self.inbox.sender_name)
        except delivery.Unsubscribed:
            await self.desk.unreachable(self.inbox.name, outbound.external_id, UNSUBSCRIBED)
            raise

    async def open_file(self, file_id: str) -> bytes:
        """A customer's picture or file, fetched from the media URL Viber gave."""
        return await self.api.download(file_id)

    # -- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application, *, routes: bool = True) -> None:
        """The webhook route and its registration (when ``routes``: a web process), and the
        lifecycle."""
        if routes:
            app.router.add_post(self.path, self.webhook)
            app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, _app: web.Application) -> None:
        # Viber calls the URL back while setting it: that can only succeed once we listen.
        self._registering = asyncio.create_task(
            self.register(), name=f"viber-webhook-{self.inbox.name}"
        )

    async def _stop(self, _app: web.Application) -> None:
        if self._registering:
            self._registering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._registering
        await self.api.close()

    async def register(self) -> None:
        """Set the webhook (Viber only calls https URLs), trying again until it is set."""
        if not self.webhook_url.startswith("https://"):
            log.warning(
                "inbox %s: web.public_url is not https, so Viber cannot call %s; the webhook "
                "is not set and no Viber messages will arrive",
                self.inbox.name,
                self.webhook_url,
            )
            await self._check_token()
            return
        pause = 1.0
        while True:
            try:
                await self.api.call(
                    "set_webhook",
                    {"url": self.webhook_url, "event_types": EVENTS, "send_name": True},
                )
                log.info("inbox %s: Viber webhook set to %s", self.inbox.name, self.webhook_url)
                return
            except ViberRefused as exc:
                if exc.status == INVALID_TOKEN:
                    log.error("inbox %s: Viber refuses the token: %s", self.inbox.name, exc)
                    return
                reason: ViberError = exc
            except ViberError as exc:
                reason = exc
            unless_stopped()
            log.warning(
                "inbox %s: setting the Viber webhook failed (%s), retrying in %ss",
                self.inbox.name,
                reason,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    async def _check_token(self) -> None:
        try:
            account = await self.api.call("get_account_info", {})
        except ViberError as exc:
            log.error("inbox %s: %s", self.inbox.name, exc)
            return
        log.info("inbox %s: Viber bot %r", self.inbox.name, account.get("name"))

    # -- callbacks in ----------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature.valid(body, request.headers.get(signature.HEADER), self.inbox.token):
            raise web.HTTPForbidden(text=f"wrong or missing {signature.HEADER}")
        callback = Callback.model_validate_json(body)
        started = time.monotonic()
        answer = await self.callbacks.handle(callback)
        log.info(
            "inbox %s: %s callback %s handled in %.0f ms",
            self.inbox.name,
            callback.event,
            callback.message_token,
            (time.monotonic() - started) * 1000,
        )
        return web.json_response(answer) if answer else web.Response(text="ok")
