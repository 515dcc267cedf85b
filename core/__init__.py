"""Otklik's conversation core: no import of bots/ or web/ ever.

The verbs live on ``Desk`` (receive, press, reply, note, assign, set_status); adapters speak
``Inbound``/``Press``/``Outbound``; everything that happens is an ``Event`` on the bus.
"""

from core.bus import EventBus, LocalBus
from core.channels import Channel, DeliveryError, Sent
from core.desk import Desk
from core.events import Event
from core.messages import Attachment, Button, Inbound, Outbound, Press

__all__ = [
    "Attachment",
    "Button",
    "Channel",
    "DeliveryError",
    "Desk",
    "Event",
    "EventBus",
    "Inbound",
    "LocalBus",
    "Outbound",
    "Press",
    "Sent",
]
