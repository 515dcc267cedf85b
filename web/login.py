"""Placeholder while being written."""

from aiohttp import web


def setup(app: web.Application) -> None:
    del app
