"""An emulator of the Viber REST Bot API over HTTP, so tests never reach Viber.

``FakeViber`` serves ``POST {base_url}/<method>`` (``base_url`` ends in ``/pa`` like
``https://chatapi.viber.com/pa``) on 127.0.0.1. Production code talks to it through its own
client pointed at it by the inbox's ``api_url``::

    async with FakeViber(TOKEN) as viber:
        alice = ViberUser("alice-id==", "Alice")
        status, _ = await viber.deliver(webhook_url, viber.text_message(alice, "hi"))
        ...  # the service stores it, an agent answers, the sender sends
        assert viber.sent(alice.id)[-1]["text"] == "Hello!"

Emulated: ``send_message`` (token, receiver subscribed, sender name, text up to 7000
characters, keyboards checked the way Viber checks them), ``set_webhook`` (which calls the
URL back with a signed ``webhook`` event and fails unless it answers 200, as Viber does),
``get_account_info``, and media URLs. Customers are subscribed by the callbacks delivered for
them (a message, ``subscribed``) and leave with ``unsubscribed`` or ``unsubscribe``. Faults
can be injected (``fail_next``). ``deliver`` POSTs callbacks signed as Viber signs them, or
forged, or unsigned; ``route`` maps an https public address to the local service, since
Viber only calls https URLs.

The package: ``server`` (``FakeViber``: lifecycle, routing, methods, faults, callbacks out),
``checks`` (what Viber refuses in a message), ``callbacks`` (the callback builders) and
``layout`` (a keyboard's lines, as a client shows them).
"""

from tests.fakes.viber.callbacks import ViberUser
from tests.fakes.viber.server import ApiCall, FakeViber

__all__ = ["ApiCall", "FakeViber", "ViberUser"]
