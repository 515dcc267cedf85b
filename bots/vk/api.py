"""vkbottle's API object, pointed at the configured address and kept within VK's limits.

vkbottle reads the API's base address from the ``API_URL`` attribute of its ``API`` class
(``https://api.vk.ru/method/``); an instance attribute overrides it for one community, so
tests reach an emulator with the very client production uses. Two defaults are replaced:
the HTTP client is the inbox's own (vkbottle shares one by default, which nobody closes), and
an answer that is not JSON (a 502 page, a proxy's error) raises ``VkUnavailable`` at once,
where vkbottle's blocking rescheduler would retry the call forever inside the sender.
"""

from __future__ import annotations

from typing import Any

from vkbottle import API
from vkbottle.api.request_rescheduler import ABCRequestRescheduler
from vkbottle.http import AiohttpClient

from bots.vk.limits import VkLimits

API_VERSION = "5.199"


class VkUnavailable(Exception):
    """VK (or what stands before it) answered something that is not the API's JSON."""


class _FailFast(ABCRequestRescheduler):
    async def reschedule(
        self, ctx_api: Any, method: str, data: dict[str, Any], recent_response: Any
    ) -> dict[str, Any]:
        raise VkUnavailable(f"{method}: VK answered {str(recent_response)[:120]!r}, not JSON")


class VkApi(API):
    """A community token's API: every method call waits for a slot within the limits."""

    API_VERSION = API_VERSION

    def __init__(self, token: str, api_url: str, limits: VkLimits) -> None:
        super().__init__(token, http_client=AiohttpClient(), request_rescheduler=_FailFast())
        self.API_URL = api_url.rstrip("/") + "/"
        self.limits = limits

    async def request(
        self, method: str, data: dict[str, Any], version: str | None = None
    ) -> dict[str, Any]:
        async with self.limits.calling():
            return await super().request(method, data, version)

    async def call(self, method: str, **params: Any) -> Any:
        """``method`` with ``params`` (None values left out): VK's ``response`` value."""
        answer = await self.request(method, {k: v for k, v in params.items() if v is not None})
        return answer["response"]

    async def close(self) -> None:
        await self.http_client.close()
