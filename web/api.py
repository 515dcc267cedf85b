"""JSON API under /api/v1 (being written)."""

from aiohttp import web


def setup(app: web.Application) -> None:
    del app
