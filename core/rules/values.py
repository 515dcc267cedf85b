"""The small value types of the rule format, each saying what it expected when it refuses.

TOML already gives strings, integers, booleans and lists; these add the format's own rules
(``"1h30m"`` is a duration, ``agent:anna`` names an agent) without pydantic's lax coercions
(``"yes"`` is not a boolean here).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, PlainValidator, ValidationInfo

from core.agents import LOGIN
from core.errors import InvalidInput
from core.messages import Button
from core.rules.catalogue import EVENTS, Scope
from core.rules.problems import Invalid, shown
from core.rules.templates import Text, compile_text

MAX_DELAY = timedelta(days=30)
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TAG = re.compile(r"^[\w.:-]{1,50}$")


def parse_duration(raw: Any) -> timedelta:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` or a combination in that order (``"1h30m"``)."""
    match = _DURATION.match(raw) if isinstance(raw, str) and raw else None
    if match is None:
        raise Invalid(f'expected a duration like "90s", "30m", "2h", "1d", got {shown(raw)}')
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not timedelta(0) < duration <= MAX_DELAY:
        raise Invalid(f"expected a duration above zero and at most 30d, got {shown(raw)}")
    return duration


def parse_events(raw: Any) -> tuple[str, ...]:
    """An event name or a list of them, each one that rules may react to."""
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names:
        raise Invalid(f"expected an event name or a list of them, got {shown(raw)}")
    for i, name in enumerate(names):
        where = (i,) if isinstance(raw, list) else ()
        if not isinstance(name, str) or name not in EVENTS:
            raise Invalid(
                f"unknown event {shown(name)}; expected one of: {', '.join(EVENTS)}", *where
            )
        if name in names[:i]:
            raise Invalid(f"{shown(name)} is listed twice", *where)
    return tuple(names)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Invalid(f"expected true or false, got {shown(raw)}")
    return raw


def _login(raw: Any) -> str:
    if not isinstance(raw, str) or not LOGIN.match(raw):
        raise Invalid(f"expected an agent's login (2-100 of a-z 0-9 . _ -), got {shown(raw)}")
    return raw


def _logins(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"expected a non-empty list of agents' logins, got {shown(raw)}")
    for i, login in enumerate(raw):
        try:
            _login(login)
        except Invalid as exc:
            raise Invalid(str(exc), i) from None
        if login in raw[:i]:
            raise Invalid(f"{shown(login)} is listed twice", i)
    return tuple(raw)


def _tags(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"expected a non-empty list of tags, got {shown(raw)}")
    for i, tag in enumerate(raw):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise Invalid(f"expected a tag: 1-50 letters, digits, _ . : -, got {shown(tag)}", i)
    return tuple(dict.fromkeys(raw))


def _payload(raw: Any) -> str:
    if not isinstance(raw, str):
        raise Invalid(f"expected a text, got {shown(raw)}")
    try:
        Button("-", raw)  # the payload's rule is the button's own
    except InvalidInput:
        raise Invalid(f"expected 1-64 of A-Z a-z 0-9 _ . : = -, got {shown(raw)}") from None
    return raw


def _url(raw: Any) -> str:
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(
            f'expected an address starting with "http://" or "https://", got {shown(raw)}'
        )
    return raw


def _seconds(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 30:
        raise Invalid(f"expected seconds above 0 and at most 30, got {shown(raw)}")
    return float(raw)


def _retries(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 10:
        raise Invalid(f"expected a whole number from 0 to 10, got {shown(raw)}")
    return raw


def target(*names: str) -> Any:
    """The type of a text that is one of ``names`` or ``agent:<login>``."""

    def check(raw: Any) -> str:
        agent = isinstance(raw, str) and raw.startswith("agent:")
        if raw in names or (agent and LOGIN.match(raw.removeprefix("agent:"))):
            return raw
        expected = ", ".join(f'"{n}"' for n in names)
        raise Invalid(f'expected {expected} or "agent:<login>", got {shown(raw)}')

    return Annotated[str, BeforeValidator(check)]


def one_of(*choices: str) -> Any:
    """The type of a text from ``choices``."""

    def check(raw: Any) -> str:
        if raw not in choices:
            expected = ", ".join(f'"{c}"' for c in choices)
            raise Invalid(f"expected one of {expected}, got {shown(raw)}")
        return raw

    return Annotated[str, BeforeValidator(check)]


def _text(raw: Any, info: ValidationInfo) -> Text:
    scope: Scope = info.context["scope"] if info.context else Scope(None)
    return compile_text(raw, scope.fields)


def _label(raw: Any, info: ValidationInfo) -> Text:
    text = _text(raw, info)
    for locale, source in text.sources.items():
        if not 1 <= len(source.strip()) <= 64:
            where = (locale,) if isinstance(raw, dict) else ()
            raise Invalid(f"expected 1-64 characters, got {len(source.strip())}", *where)
    return text


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Events = Annotated[tuple[str, ...], BeforeValidator(parse_events)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Login = Annotated[str, BeforeValidator(_login)]
Logins = Annotated[tuple[str, ...], BeforeValidator(_logins)]
Tags = Annotated[tuple[str, ...], BeforeValidator(_tags)]
Payload = Annotated[str, BeforeValidator(_payload)]
Url = Annotated[str, BeforeValidator(_url)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
Retries = Annotated[int, BeforeValidator(_retries)]
Template = Annotated[Text, PlainValidator(_text)]
Label = Annotated[Text, PlainValidator(_label)]
