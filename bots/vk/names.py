"""Customers' names from ``users.get``, asked once per user and kept in memory."""

from __future__ import annotations

import logging
from collections import OrderedDict

import aiohttp
from vkbottle import VKAPIError

from bots.vk.api import VkApi, VkUnavailable

log = logging.getLogger("otklik.vk")


class Names:
    def __init__(self, api: VkApi, size: int = 10_000) -> None:
        self._api = api
        self._size = size
        self._known: OrderedDict[int, str | None] = OrderedDict()

    async def of(self, user_id: int) -> str | None:
        """``First Last`` of a VK user; None when VK does not say (the message still counts)."""
        if user_id in self._known:
            self._known.move_to_end(user_id)
            return self._known[user_id]
        try:
            [user] = await self._api.call("users.get", user_ids=str(user_id))
        except (TimeoutError, VKAPIError, aiohttp.ClientError, VkUnavailable) as exc:
            log.info("users.get %s failed (%s); the name is asked again next time", user_id, exc)
            return None
        except ValueError:  # not exactly one user in the answer
            return None
        parts = (user.get("first_name"), user.get("last_name"))
        name = " ".join(p for p in parts if isinstance(p, str) and p) or None
        self._known[user_id] = name
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return name
