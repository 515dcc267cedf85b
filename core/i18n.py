"""User-facing texts in Russian and English: catalogs in core/locales/<locale>.toml, plus one
file per feature, core/locales/<locale>-<feature>.toml (a key defined twice is an error)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = ("ru", "en")
_DIR = Path(__file__).parent / "locales"


@cache
def catalog(locale: str) -> dict[str, str]:
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r}: expected one of {LOCALES}")
    merged: dict[str, str] = {}
    for path in [_DIR / f"{locale}.toml", *sorted(_DIR.glob(f"{locale}-*.toml"))]:
        texts = tomllib.loads(path.read_text(encoding="utf-8"))
        if twice := merged.keys() & texts.keys():
            raise ValueError(f"{path.name}: {', '.join(sorted(twice))} defined before")
        merged.update(texts)
    return merged


def text(locale: str, key: str, **values: Any) -> str:
    """The text for ``key``; a missing key is a bug the catalog test catches, shown as the key."""
    template = catalog(locale).get(key, key)
    return template.format(**values) if values else template
