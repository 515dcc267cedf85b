"""What every request handler reaches through ``request.app[STATE]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from core.bus import EventBus
from core.channels import Channel
from core.db import Database
from core.desk import Desk
from core.engine.live import LiveRules
from core.leader import Alone, Leading
from settings.config import Config


@dataclass
class State:
    config: Config
    db: Database
    desk: Desk
    bus: EventBus
    secret: bytes
    clock: Callable[[], datetime]
    rules: LiveRules
    channels: dict[str, Channel] = field(default_factory=dict)  # by inbox, once mounted
    leadership: Leading = field(default_factory=Alone)
    works: bool = True  # this process fires rule runs and sends (not a web-only process)

    @property
    def locale(self) -> str:
        return self.config.locale


STATE = web.AppKey("otklik", State)
