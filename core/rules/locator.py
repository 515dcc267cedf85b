"""Lines of keys in a TOML text, for error messages: tomllib gives values, not positions.

``Locator(text).line(("rule", 2, "then", 0, "text"))`` is the line of ``text`` in the first
action of the third ``[[rule]]``, however it is written: a key of the rule, a key in
``[[rule.then]]`` or ``[rule.if]`` sub-tables, or a key of an inline table inside an array.
The text is walked just enough for that: table headers, keys (bare, quoted, dotted), and
inside values the elements of arrays and the keys of inline tables, with strings and comments
skipped. The text is trusted to be valid TOML (tomllib read it first); when a path goes
further than the text shows, the answer is the line of the deepest part found.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence

Key = tuple[str | int, ...]
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")


class Locator:
    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]
        # (path, position of the key or header, position of the value; None for a header)
        self._entries: list[tuple[Key, int, int | None]] = list(_statements(text))

    def line(self, path: Sequence[str | int]) -> int:
        """The line (from 1) where ``path`` is written, or of its deepest part that is."""
        target = tuple(path)
        best: tuple[int, int, int | None] | None = None  # (depth, key position, value)
        for key, at, value in self._entries:
            depth = _common(key, target)
            if depth in (len(key), len(target)) and (best is None or depth > best[0]):
                best = (depth, at, value)
        if best is None:
            return 1
        depth, at, value = best
        if value is not None and depth < len(target):
            at = _descend(self._text, value, target[depth:]) or at
        return bisect.bisect_right(self._starts, at)


def _common(a: Key, b: Key) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _statements(text: str) -> Iterator[tuple[Key, int, int | None]]:
    """Every table header and key/value line, with the data path each one stands for."""
    table: Key = ()
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables header → index of its last table
    pos = _blank(text, 0)
    while pos < len(text):
        start = pos
        if text[pos] == "[":
            double = text.startswith("[[", pos)
            names, pos = _key(text, pos + (2 if double else 1))
            table = _table(tuple(names), double, arrays)
            yield table, start, None
        else:
            names, pos = _key(text, pos)
            pos = _space(text, pos)
            if pos < len(text) and text[pos] == "=":
                value = _space(text, pos + 1)
                yield (*table, *names), start, value
                pos = _skip_value(text, value)
        end = text.find("\n", pos)
        pos = _blank(text, len(text) if end < 0 else end)


def _table(names: tuple[str, ...], double: bool, arrays: dict[tuple[str, ...], int]) -> Key:
    if double:
        arrays[names] = arrays.get(names, -1) + 1
        for inner in [k for k in arrays if len(k) > len(names) and k[: len(names)] == names]:
            del arrays[inner]  # a new [[rule]] starts counting its [[rule.then]] again
    path: list[str | int] = []
    for depth in range(1, len(names) + 1):
        path.append(names[depth - 1])
        if names[:depth] in arrays:
            path.append(arrays[names[:depth]])
    return tuple(path)


def _descend(text: str, pos: int, rest: Key) -> int | None:
    """The position of ``rest`` inside the value at ``pos``, or of its deepest part found."""
    found = None
    while rest and pos < len(text):
        head = rest[0]
        if isinstance(head, int) and text[pos] == "[":
            elements = list(_elements(text, pos))
            if head >= len(elements):
                break
            pos = found = elements[head]
            rest = rest[1:]
        elif isinstance(head, str) and text[pos] == "{":
            for names, at, value in _inline(text, pos):
                depth = _common(tuple(names), rest)
                if depth == len(names):
                    pos, found, rest = value, at, rest[depth:]
                    break
                if depth == len(rest):
                    return at
            else:
                break
        else:
            break
    return found


def _elements(text: str, pos: int) -> Iterator[int]:
    pos = _blank(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        yield pos
        pos = _blank(text, _skip_value(text, pos))
        if pos < len(text) and text[pos] == ",":
            pos = _blank(text, pos + 1)


def _inline(text: str, pos: int) -> Iterator[tuple[list[str], int, int]]:
    pos = _blank(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        at = pos
        names, pos = _key(text, pos)
        pos = _space(text, pos)
        if pos >= len(text) or text[pos] != "=":
            return
        value = _space(text, pos + 1)
        yield names, at, value
        pos = _blank(text, _skip_value(text, value))
        if pos < len(text) and text[pos] == ",":
            pos = _blank(text, pos + 1)


def _key(text: str, pos: int) -> tuple[list[str], int]:
    """A bare, quoted or dotted key: its parts and the position after it."""
    names: list[str] = []
    while True:
        pos = _space(text, pos)
        if pos < len(text) and text[pos] in "\"'":
            end = _skip_string(text, pos)
            names.append(text[pos + 1 : end - 1])
            pos = end
        else:
            match = _BARE.match(text, pos)
            if match is None:
                return names, pos
            names.append(match.group())
            pos = match.end()
        pos = _space(text, pos)
        if pos >= len(text) or text[pos] != ".":
            return names, pos
        pos += 1


def _skip_value(text: str, pos: int) -> int:
    if pos >= len(text):
        return pos
    if text[pos] in "\"'":
        return _skip_string(text, pos)
    if text[pos] in "[{":
        depth = 0
        while pos < len(text):
            char = text[pos]
            if char in "\"'":
                pos = _skip_string(text, pos)
                continue
            if char == "#":
                pos = _line_end(text, pos)
                continue
            depth += 1 if char in "[{" else -1 if char in "]}" else 0
            pos += 1
            if depth == 0:
                return pos
        return pos
    match = _SCALAR.match(text, pos)
    return match.end() if match else pos


def _skip_string(text: str, pos: int) -> int:
    quote = text[pos]
    triple = text.startswith(quote * 3, pos)
    pos += 3 if triple else 1
    while pos < len(text):
        if quote == '"' and text[pos] == "\\":
            pos += 2
        elif triple and text.startswith(quote * 3, pos):
            end = pos + 3
            while end < len(text) and text[end] == quote:  # up to two quotes may end the text
                end += 1
            return end
        elif not triple and text[pos] in (quote, "\n"):
            return pos + 1
        else:
            pos += 1
    return pos


def _space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _blank(text: str, pos: int) -> int:
    """Past spaces, newlines and comments."""
    while pos < len(text):
        if text[pos] in " \t\r\n":
            pos += 1
        elif text[pos] == "#":
            pos = _line_end(text, pos)
        else:
            break
    return pos


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end
