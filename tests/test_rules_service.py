"""Rules in the running service: chained bot replies through the web widget, hot reload."""

from pathlib import Path
from typing import Any

import aiohttp

from core.db import Database
from core.engine.live import LiveRules
from tests.service import running, service_config
from tests.test_webchat import open_chat, say
from tests.waiting import eventually

MENU = """
[[rule]]
id = "menu"
on = "message.received"
if = { field = "message.text", contains = "menu" }
[[rule.then]]
action = "reply"
text = "What do you need, {{ customer.name }}?"
buttons = [{ label = "Delivery", payload = "menu:delivery" }]

[[rule]]
id = "delivery"
on = "button.pressed"
if = { field = "button.payload", eq = "menu:delivery" }
[[rule.then]]
action = "reply"
text = "Delivery: where is your parcel?"
buttons = [
  { label = "In town", payload = "delivery:town" },
  { label = "Abroad", payload = "delivery:abroad" },
]

[[rule]]
id = "abroad"
on = "button.pressed"
[rule.if]
all = [
  { field = "button.payload", eq = "delivery:abroad" },
  { field = "button.first_press", eq = true },
]
[[rule.then]]
action = "reply"
text = "Abroad takes 10 days."
[[rule.then]]
action = "tag"
tags = ["abroad"]
"""


async def bot_says(http: aiohttp.ClientSession, text: str) -> dict[str, Any]:
    """The bot's message in the visitor's chat that starts with ``text``, once it is there."""

    async def look() -> dict[str, Any] | None:
        history = await (await http.get("/chat/api/web/history")).json()
        return next((m for m in history["messages"] if m["text"].startswith(text)), None)

    return await eventually(look)


async def press(http: aiohttp.ClientSession, message: dict[str, Any], label: str, n: int) -> None:
    button = next(b["id"] for b in message["buttons"] if b["label"] == label)
    pressed = await http.post(
        "/chat/api/web/press", json={"button": button, "client_id": f"press-000{n}"}
    )
    assert pressed.status == 200


async def test_chained_bot_replies_through_the_web_widget(
    db: Database, database_url: str, tmp_path: Path
):
    config = service_config(database_url, tmp_path)
    (config.rules_dir / "menu.toml").write_text(MENU, encoding="utf-8")
    async with running(config) as svc, svc.client() as http:
        await open_chat(http)
        await http.post(
            "/chat/api/web/messages",
            json={"text": "show me the menu", "client_id": "client-0001", "name": "Olga"},
        )
        menu = await bot_says(http, "What do you need, Olga?")
        await press(http, menu, "Delivery", 1)
        delivery = await bot_says(http, "Delivery: where is your parcel?")
        assert [b["label"] for b in delivery["buttons"]] == ["In town", "Abroad"]
        await press(http, delivery, "Abroad", 2)
        await bot_says(http, "Abroad takes 10 days.")
        ticket = await eventually(lambda: _tagged(svc.state.desk, 1))
        assert ticket == ["abroad"]


async def _tagged(desk: Any, ticket_id: int) -> list[str] | None:
    facts = await desk.facts(ticket_id)
    return facts["ticket"]["tags"] or None


async def test_the_service_reloads_rules_when_files_change_and_keeps_the_last_good_set(
    db: Database, database_url: str, tmp_path: Path
):
    config = service_config(database_url, tmp_path)
    rules_file = config.rules_dir / "menu.toml"
    async with running(config) as svc, svc.client() as http:
        live: LiveRules = svc.state.rules
        assert len(live.current) == 0
        rules_file.write_text(MENU, encoding="utf-8")
        await eventually(lambda: len(live.current) == 3)
        rules_file.write_text(MENU.replace('"menu:delivery" }]', '"menu:delivery" ]'))
        await eventually(lambda: live.problems)
        assert "menu.toml:" in str(live.problems[0])
        assert [r.id for r in live.current] == ["menu", "delivery", "abroad"]  # still live
        await open_chat(http)
        await say(http, "menu please")
        await bot_says(http, "What do you need, Webchat visitor")  # the last good set answers
        rules_file.write_text(MENU.replace("What do you need", "How can we help"))
        await eventually(lambda: not live.problems)
        await say(http, "the menu again", client_id="client-0002")
        await bot_says(http, "How can we help, Webchat visitor")
