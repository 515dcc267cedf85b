"""An emulator of the VK API for one community, so tests never reach VK.

``FakeVk`` serves ``{base_url}/{method}`` (``base_url`` ends in ``/method``, like
``https://api.vk.com/method``) and a Bots Long Poll server on 127.0.0.1. Production code talks
to it through vkbottle's ``API`` pointed at ``base_url``::

    async with FakeVk(TOKEN, GROUP) as vk:
        alice = vk.add_user(VkUser(42, "Alice"))
        vk.push(vk.message_new(alice, "hi"))              # for a long poll client
        await vk.post(webhook_url, vk.message_new(alice, "hi"))  # to a Callback API address
        ...
        assert vk.params_of("messages.send")[-1]["message"] == "Hello!"

Emulated: messages.send (random_id de-duplication per dialog, keyboards checked against VK's
limits: 5 buttons a line; inline 6 lines and 10 buttons, under the input field 10 lines and 40
buttons, which stays in ``under_input`` until a message brings another or an empty one),
messages.edit, messages.sendMessageEventAnswer (only for events the fake issued; snackbars up
to 90 characters),
users.get, groups.getLongPollServer and the long poll ``a_check`` (``failed: 2`` after
``expire_key``). Faults: ``fail_next(method, code)`` answers a VK error (6, 9, 901…) instead
of doing the call; ``fail_next(method, lose_answer=True)`` does it and answers a 502 page.
``deny(user)`` makes sending to a user answer 901.
"""

from tests.fakes.vk.model import Call, StoredMessage, VkError, VkUser
from tests.fakes.vk.server import FakeVk

__all__ = ["Call", "FakeVk", "StoredMessage", "VkError", "VkUser"]
