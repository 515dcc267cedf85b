"""Telegram's HTML parse mode, and the UTF-16 lengths that entity offsets count in."""

from __future__ import annotations

import re
from typing import ClassVar

from tests.fakes.telegram.wire import ApiError, Json, bad_request


class _HtmlParser:
    """Telegram's HTML parse mode: visible text and entities, or Telegram's parse errors."""

    TAGS: ClassVar[dict[str, str]] = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "a": "text_link",
        "code": "code",
        "pre": "pre",
        "blockquote": "blockquote",
        "tg-emoji": "custom_emoji",
    }
    NAMED: ClassVar[dict[str, str]] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    TOKEN = re.compile(
        r"<(?P<closing>/?)(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>[^<>]*)>"
        r"|&(?P<entity>#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);"
        r"|(?P<stray><)"
    )
    ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 code units, as entity offsets count
        self.open: list[tuple[str, dict[str, str], int]] = []
        self.entities: list[Json] = []

    def parse(self) -> tuple[str, list[Json]]:
        position = 0
        for match in self.TOKEN.finditer(self.source):
            self._add_text(self.source[position : match.start()])
            position = match.end()
            if match["entity"]:
                self._add_text(self._entity(match["entity"]))
            elif match["tag"]:
                self._tag(match)
            else:
                raise self._error("Unsupported start tag", match.start())
        self._add_text(self.source[position:])
        if self.open:
            unclosed = f'"{self.open[-1][0]}"'
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag {unclosed}"
            )
        entities = sorted(self.entities, key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), entities

    def _add_text(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_length(text)

    def _entity(self, name: str) -> str:
        if name.startswith("#"):
            number = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(number) if number <= 0x10FFFF else "\ufffd"
        return self.NAMED.get(name, f"&{name};")

    def _tag(self, match: re.Match[str]) -> None:
        name = match["tag"].lower()
        if match["closing"]:
            self._close(name, match.start())
            return
        attrs = {
            found[1].lower(): next((value for value in found.groups()[1:] if value), "")
            for found in self.ATTRIBUTE.finditer(match["attrs"])
        }
        if name not in self.TAGS or (name == "span" and attrs.get("class") != "tg-spoiler"):
            raise self._error(f'Unsupported start tag "{name}"', match.start())
        self.open.append((name, attrs, self.length))

    def _close(self, name: str, at: int) -> None:
        if not self.open:
            raise self._error("Unexpected end tag", at)
        opened, attrs, start = self.open.pop()
        if opened != name:
            expected = f', expected "</{opened}>", found "</{name}>"'
            raise self._error("Unmatched end tag", at, expected)
        if self.length > start:
            self.entities.append(self._entity_for(opened, attrs, start))

    def _entity_for(self, tag: str, attrs: dict[str, str], start: int) -> Json:
        entity: Json = {"type": self.TAGS[tag], "offset": start, "length": self.length - start}
        if tag == "a":
            entity["url"] = attrs.get("href", "")
        if tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        return entity

    def _error(self, what: str, at: int, details: str = "") -> ApiError:
        offset = len(self.source[:at].encode())
        return bad_request(f"can't parse entities: {what} at byte offset {offset}{details}")


def parse_html(source: str) -> tuple[str, list[Json]]:
    return _HtmlParser(source).parse()


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
