"""One error middleware: core refusals and bad requests become clear answers, never a traceback.

Under /api/ and for JSON clients the answer is ``{"error": {"status": …, "message": …}}``;
pages get a short HTML page with the same message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from html import escape

from aiohttp import web
from pydantic import ValidationError

from core.errors import (
    ButtonRefused,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OtklikError,
)
from web.state import STATE

log = logging.getLogger("otklik.web")

STATUS: dict[type[OtklikError], int] = {
    NotFound: 404,
    Forbidden: 403,
    ButtonRefused: 403,
    InvalidTransition: 409,
    InvalidInput: 400,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(
        ("/api/", "/chat/api/", "/webhooks/")
    ) or "application/json" in request.headers.get("Accept", "")


def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if wants_json(request):
        return web.json_response({"error": {"status": status, "message": message}}, status=status)
    body = (
        f"<!doctype html><meta charset=utf-8><title>{status}</title>"
        f'<body style="font-family:sans-serif;padding:2em"><h1>{status}</h1>'
        f"<p>{escape(message)}</p><p><a href=/inbox>Otklik</a></p>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[STATE].config.web.max_body_bytes
        return error_response(
            request, 413, f"the request body is larger than the {limit} bytes allowed"
        )
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return error_response(request, exc.status, exc.reason if not exc.text else exc.text)
    except OtklikError as exc:
        return error_response(request, STATUS.get(type(exc), 400), str(exc))
    except json.JSONDecodeError as exc:
        return error_response(request, 400, f"malformed JSON: {exc.msg} at position {exc.pos}")
    except ValidationError as exc:
        return error_response(request, 400, validation_message(exc))
    except UnicodeDecodeError:
        return error_response(request, 400, "the request body is not valid UTF-8")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, "internal error; it has been logged")
