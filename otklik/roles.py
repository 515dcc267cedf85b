"""What one ``otklik serve`` process does: ``--role all`` (the default), ``web`` or ``worker``.

``web`` serves HTTP: the inbox, the public pages, the API and the channels' webhooks, writing
what comes in through the core. ``worker`` fires rule runs and SLA timers and sends the outbox;
one worker, the leader, also polls the platforms that are polled and mirrors to the agents'
Telegram forum. ``all`` is both. Several processes of either role need Redis, to share events,
limits and the leader.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import OtklikError


class Role(StrEnum):
    ALL = "all"
    WEB = "web"
    WORKER = "worker"

    @property
    def serves(self) -> bool:
        """Serves the web pages, the API and the webhooks."""
        return self is not Role.WORKER

    @property
    def works(self) -> bool:
        """Fires rule runs, sends, and may lead."""
        return self is not Role.WEB


def check(role: Role, redis_url: str | None) -> None:
    """Refuse a role that cannot work as configured."""
    if role is not Role.ALL and redis_url is None:
        raise OtklikError(
            f"--role {role} needs [redis] url: the processes share events, limits and the "
            "leader through Redis (or run one process with --role all)"
        )
