"""The Bot API on the wire: parameters read as Telegram reads them, the error envelope,
and the shape of the JSON objects the fake answers with."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import web

Json = dict[str, Any]
Params = dict[str, Any]

# Parameters Telegram takes as plain strings; every other form value is JSON.
STRING_PARAMS = frozenset(
    {
        "action",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "description",
        "document",
        "emoji",
        "file_id",
        "icon_custom_emoji_id",
        "inline_message_id",
        "ip_address",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "photo",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "title",
        "url",
        "video",
        "video_note",
        "voice",
    }
)


class ApiError(Exception):
    """An error answer of the Bot API, sent with the HTTP status ``error_code``."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> Json:
        body: Json = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def default_description(error_code: int) -> str:
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
    }.get(error_code, f"Error {error_code}")


class ApiCall(NamedTuple):
    """One request as the fake received it, whatever it answered; ``at``: when it arrived
    (``time.monotonic()``, whatever clock drives the limits)."""

    token: str
    method: str
    params: Params
    at: float


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request."""

    filename: str
    content: bytes
    content_type: str


def without_none(data: Json) -> Json:
    return {key: value for key, value in data.items() if value is not None}


def without_reply(message: Json) -> Json:
    """Telegram never nests a reply inside the message replied to."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def unix_now() -> int:
    return int(time.time())


def _decode(key: str, value: Any, uploads: dict[str, Upload], used: set[str]) -> Any:
    if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
        used.add(value[9:])
        return uploads[value[9:]]
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> Params:
    """Parameters from the query string and the body, the way the Bot API accepts them."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json" and request.can_read_body:
        raw.update(await request.json())
    elif request.can_read_body:
        raw.update((await request.post()).items())
    uploads = {
        key: Upload(value.filename, value.file.read(), value.content_type)
        for key, value in raw.items()
        if isinstance(value, web.FileField)
    }
    used: set[str] = set()
    params = {
        key: _decode(key, value, uploads, used) for key, value in raw.items() if key not in uploads
    }
    params.update({key: upload for key, upload in uploads.items() if key not in used})
    return params
