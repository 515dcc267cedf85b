"""The locator behind the rule errors' line numbers."""

from __future__ import annotations

from typing import Any

import pytest

from core.rules.locator import Locator

# The locator behind the line numbers


LAYOUTS = """\
# header comment with [[rule]] in it
[[rule]]
id = "a"
text = \"\"\"
[[rule]] inside a string
\"\"\"
then = [
  { action = "reply", text = 'x' },  # a comment { [
  { action = "note", "text" = "y" },
]

[[rule]]
id = "b"

[rule.if]
any = [{ field = "a", eq = 1 }, { field = "b", eq = 2 }]

[[rule.then]]
action = "reply"
buttons = [
  { label = "A", payload = "a" },
  { label = "B", payload = "b" },
]

[[rule.then]]
action = "webhook"

[rule.then.payload]
key = 1
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("rule", 0), 2),
        (("rule", 0, "id"), 3),
        (("rule", 0, "then", 0, "text"), 8),
        (("rule", 0, "then", 1, "text"), 9),
        (("rule", 1), 12),
        (("rule", 1, "if"), 15),
        (("rule", 1, "if", "any", 1, "eq"), 16),
        (("rule", 1, "then", 0), 18),
        (("rule", 1, "then", 0, "buttons", 1, "payload"), 22),
        (("rule", 1, "then", 1, "payload", "key"), 29),
        (("rule", 1, "delay"), 12),  # not written: the rule's own line
        (("rule", 0, "then", 7), 7),  # beyond the list: the list's line
    ],
)
def test_the_locator_finds_keys_however_the_toml_is_written(
    path: tuple[Any, ...], line: int
) -> None:
    assert Locator(LAYOUTS).line(path) == line
