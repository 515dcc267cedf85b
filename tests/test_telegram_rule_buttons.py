"""Rules' buttons in lines: a button's ``row`` (0-9) puts buttons of the same row on one line,
checked when the rules load, laid out by the channel (here Telegram's inline keyboard)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import Database
from core.rules import RulesError, parse_rules
from core.rules.actions import Reply
from tests.fakes.telegram import FakeTelegram
from tests.service import running, service_config
from tests.test_telegram import ALICE, TOKEN, free_port, telegram
from tests.waiting import eventually

__all__ = ["telegram"]  # fixtures

MENU = """
[[rule]]
id = "menu"
on = "ticket.created"
then = [{ action = "reply", text = "What is it about?", buttons = [
  { label = "Delivery", payload = "menu:delivery" },
  { label = "Payment", payload = "menu:payment" },
  { label = "Call me", payload = "menu:call", row = 1 },
] }]
"""


def test_a_buttons_row_is_read_and_defaults_to_the_first_line():
    [rule] = parse_rules({"menu.toml": MENU})
    [reply] = rule.actions
    assert isinstance(reply, Reply)
    assert [(b.payload, b.row) for b in reply.buttons] == [
        ("menu:delivery", 0),
        ("menu:payment", 0),
        ("menu:call", 1),
    ]


@pytest.mark.parametrize("row", ["-1", "10", '"1"', "1.5", "true"])
def test_a_row_that_is_no_small_whole_number_is_refused_with_its_line(row: str):
    with pytest.raises(RulesError) as caught:
        parse_rules({"menu.toml": MENU.replace("row = 1", f"row = {row}")})
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith('menu.toml:8: rule "menu": then[1].buttons[3].row: expected a line')
    assert "from 0 to 9" in problem


async def test_telegram_puts_buttons_of_one_row_on_one_line(
    db: Database, database_url: str, tmp_path: Path, telegram: FakeTelegram
):
    port = free_port()
    inbox = {"name": "tg", "channel": "telegram", "token": TOKEN, "api_server": telegram.base_url}
    config = service_config(
        database_url,
        tmp_path,
        inbox=[inbox],
        web={"secret_key": "s" * 40, "public_url": f"http://127.0.0.1:{port}"},
    )
    (config.rules_dir / "menu.toml").write_text(MENU, encoding="utf-8")
    async with running(config, port=port):
        telegram.push_update(TOKEN, telegram.text_message(TOKEN, ALICE, "Hello"))
        sent = await eventually(lambda: telegram.params_of("sendMessage"))
    keyboard = sent[-1]["reply_markup"]["inline_keyboard"]
    assert [[button["text"] for button in line] for line in keyboard] == [
        ["Delivery", "Payment"],
        ["Call me"],
    ]
