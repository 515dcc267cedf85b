"""HTML pages: one Jinja2 environment (autoescaping on), texts in the configured locale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.i18n import text
from web.nav import NAV
from web.state import STATE

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    state = request.app[STATE]
    locale, zone = state.locale, state.config.tz
    html = _env.get_template(template).render(
        locale=locale,
        t=lambda key, **values: text(locale, key, **values),
        when=lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        nav=request.get(NAV),
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def redirect(location: str) -> web.Response:
    """303 See Other: after a form post, the browser loads ``location`` with GET."""
    return web.Response(status=303, headers={"Location": location})
