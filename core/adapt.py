"""An outgoing message fitted to its channel's capabilities, in one place for every channel.

The sender hands each adapter the platform messages this makes of an outbox row, in order:
- files the channel cannot send become lines of the text, with their links where they have one;
- buttons a channel cannot show at all become a list of their labels to reply with; rows are
  cut to the channel's ``buttons_per_row`` and buttons beyond its ``max_buttons`` left out;
- a text longer than ``max_text`` goes in parts cut at a line break or a space
  (``split_text``), the buttons and files on the last part only.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from core.channels import ButtonStyle, Capabilities
from core.i18n import text
from core.messages import Outbound, OutButton, split_text
from core.rows import rows

log = logging.getLogger("otklik.sender")


def parts(out: Outbound, can: Capabilities, locale: str) -> list[Outbound]:
    """The platform messages ``out`` becomes on a channel that ``can`` so much."""
    words = out.text
    files = tuple(a for a in out.attachments if a.get("kind") in can.files)
    if listed := [a for a in out.attachments if a.get("kind") not in can.files]:
        words = _join(words, "\n".join(_file_line(a, locale) for a in listed))
    buttons = _laid_out(out.buttons, can, out.outbox_id)
    if buttons and can.buttons == ButtonStyle.NONE:
        labels = "\n".join(f"— {b.label}" for b in buttons)
        words = _join(words, f"{text(locale, 'adapt.choose')}\n{labels}")
        buttons = ()
    pieces = split_text(words, can.max_text, can.utf16) if can.max_text else [words]
    last = len(pieces) - 1
    return [
        replace(
            out,
            text=piece,
            part=i,
            buttons=buttons if i == last else (),
            attachments=files if i == last else (),
        )
        for i, piece in enumerate(pieces)
    ]


def _laid_out(
    buttons: tuple[OutButton, ...], can: Capabilities, outbox_id: int
) -> tuple[OutButton, ...]:
    """The buttons that fit, each ``row`` the line it goes in."""
    kept = buttons[: can.max_buttons] if can.max_buttons is not None else buttons
    if len(kept) < len(buttons):
        log.warning(
            "outbox %s: %d buttons are more than the channel shows, %d sent",
            outbox_id,
            len(buttons),
            len(kept),
        )
    lines = rows(kept, can.buttons_per_row)
    return tuple(replace(b, row=n) for n, line in enumerate(lines) for b in line)


def _file_line(attachment: dict[str, Any], locale: str) -> str:
    name = attachment.get("name") or attachment.get("kind") or "file"
    if url := attachment.get("url"):
        return text(locale, "adapt.file_link", name=name, url=url)
    return text(locale, "adapt.file_kept", name=name)


def _join(words: str, more: str) -> str:
    return f"{words}\n\n{more}" if words else more
