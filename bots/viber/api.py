"""A thin client of the Viber REST Bot API: ``POST {api_url}/<method>`` with the bot's token.

Viber answers HTTP 200 with ``{"status": 0, "status_message": "ok", …}``; any other status is
a refusal named by ``status_message``. The errors::

    ViberError
    ├── ViberRefused       Viber answered with a non-zero status (``status``, ``status_message``)
    └── ViberUnavailable   no answer, HTTP 429 or 5xx, or no JSON: trying later may help
                           (``retry_after`` when Viber said how long to wait; ``permanent``
                           for other HTTP errors, e.g. a wrong ``api_url``)
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

TIMEOUT_SECONDS = 15.0


class ViberError(Exception):
    def __init__(self, method: str, reason: str) -> None:
        super().__init__(f"Viber {method}: {reason}")
        self.method = method
        self.reason = reason


class ViberRefused(ViberError):
    def __init__(self, method: str, status: int, status_message: str) -> None:
        super().__init__(method, f"{status_message} (status {status})")
        self.status = status
        self.status_message = status_message


class ViberUnavailable(ViberError):
    def __init__(
        self, method: str, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(method, reason)
        self.retry_after = retry_after
        self.permanent = permanent


class ViberApi:
    """One bot's client; the HTTP session opens on first use and closes with ``close``."""

    def __init__(self, token: str, api_url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The answer of a method that succeeded (status 0); raises ViberError otherwise."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                f"{self.api_url}/{method}",
                json=payload,
                headers={"X-Viber-Auth-Token": self._token},
            ) as response:
                body = await response.read()
                _check_http(method, response.status, response.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ViberUnavailable(method, f"no answer ({type(exc).__name__}: {exc})") from exc
        return _answer(method, body)

    async def download(self, url: str) -> bytes:
        """The bytes behind a media URL Viber gave in a callback."""
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"not a media URL: {url!r}")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(url) as response:
            response.raise_for_status()
            return await response.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _check_http(method: str, status: int, retry_after: str | None) -> None:
    if status == 200:
        return
    if status == 429 or status >= 500:
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise ViberUnavailable(method, f"HTTP {status}", retry_after=wait)
    raise ViberUnavailable(method, f"HTTP {status}", permanent=True)


def _answer(method: str, body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ViberUnavailable(method, f"the answer is not JSON: {body[:100]!r}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), int):
        raise ViberUnavailable(method, f"the answer has no status: {body[:100]!r}")
    if answer["status"] != 0:
        raise ViberRefused(method, answer["status"], str(answer.get("status_message", "")))
    return answer
