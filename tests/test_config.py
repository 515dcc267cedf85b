"""config.toml is validated at start: every problem named by its key path and expectation."""

from pathlib import Path

import pytest

from settings.config import ConfigError, load_config, parse_config


def problems(raw: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="config.toml", base_dir=tmp_path)
    return caught.value.problems


def test_shipped_config_is_valid():
    config = load_config(Path(__file__).parent.parent / "config.toml")
    assert config.inbox[0].name == "web" and config.locale in ("ru", "en")
    assert config.database.url.endswith("/var/otklik.db")
    assert Path(config.database.url.split("///", 1)[1]).is_absolute()


def test_defaults_make_a_working_config(tmp_path: Path):
    config = parse_config({}, source="x", base_dir=tmp_path)
    assert config.database.url == f"sqlite+aiosqlite:///{tmp_path}/var/otklik.db"
    assert config.rules_dir == tmp_path / "dispatcher_rules"
    assert config.web.base_url == "http://127.0.0.1:8080"


def test_the_database_pool_and_a_relative_sqlite_file_both_hold(tmp_path: Path):
    raw = {"database": {"url": "sqlite+aiosqlite:///data/o.db", "pool_size": 4, "max_overflow": 2}}
    database = parse_config(raw, source="x", base_dir=tmp_path).database
    assert database.url == f"sqlite+aiosqlite:///{tmp_path}/data/o.db"
    assert (database.pool_size, database.max_overflow) == (4, 2)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"locale": "de"}, "locale: Input should be 'ru' or 'en'"),
        (
            {"timezone": "Mars/Olympus"},
            'timezone: expected an IANA time zone such as "Europe/Moscow"',
        ),
        ({"web": {"port": "eighty"}}, "web.port: Input should be a valid integer"),
        ({"web": {"port": 70000}}, "web.port: Input should be less than or equal to 65535"),
        ({"web": {"prot": 8080}}, "web.prot: unknown key"),
        ({"database": {"url": "mysql://x"}}, 'database.url: expected "sqlite+aiosqlite:///PATH"'),
        ({"redis": {"url": "http://x"}}, 'redis.url: expected "redis://HOST:PORT/DB"'),
        (
            {
                "inbox": [
                    {"name": "web", "channel": "webchat"},
                    {"name": "x", "channel": "icq"},
                ]
            },
            "inbox[2].channel: unknown channel 'icq'; expected one of: 'webchat', 'telegram'",
        ),
        ({"inbox": [{"name": "web"}]}, "inbox[1].channel: required: the inbox's channel"),
        ({"inbox": [{"channel": "webchat"}]}, 'inbox[1].name: required for channel "webchat"'),
        (
            {"inbox": [{"name": "web", "channel": "webchat", "tokn": "x"}]},
            'inbox[1].tokn: unknown key for channel "webchat"',
        ),
        (
            {"inbox": [{"name": "Web Chat", "channel": "webchat"}]},
            "inbox[1].name: expected lowercase",
        ),
        ({"inbox": [{"name": "api", "channel": "webchat"}]}, "inbox[1].name: 'api' is reserved"),
        (
            {"inbox": [{"name": "a", "channel": "webchat"}, {"name": "a", "channel": "webchat"}]},
            'inbox name "a" is used twice',
        ),
        ({"web": {"secret_key": "short"}}, "web.secret_key: String should have at least 32"),
    ],
)
def test_each_mistake_is_named_with_its_key_path(raw: dict, expected: str, tmp_path: Path):
    assert any(p.startswith(expected) or expected in p for p in problems(raw, tmp_path)), problems(
        raw, tmp_path
    )


def test_all_problems_are_reported_at_once(tmp_path: Path):
    found = problems({"locale": "de", "web": {"port": -1}}, tmp_path)
    assert len(found) == 2


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTKLIK_TEST_SECRET", "k" * 40)
    config = parse_config(
        {"web": {"secret_key": "${OTKLIK_TEST_SECRET}"}}, source="x", base_dir=tmp_path
    )
    assert config.web.secret_key == "k" * 40
    monkeypatch.delenv("OTKLIK_TEST_SECRET")
    assert problems({"web": {"secret_key": "${OTKLIK_TEST_SECRET}"}}, tmp_path) == [
        "web.secret_key: environment variable OTKLIK_TEST_SECRET is not set"
    ]


def test_broken_toml_and_missing_file_are_reported(tmp_path: Path):
    broken = tmp_path / "config.toml"
    broken.write_text("locale = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")


TOKEN = "123456789:AAE" + "x" * 30


@pytest.mark.parametrize(
    ("inbox", "expected"),
    [
        ({"channel": "telegram"}, 'inbox[1].token: required for channel "telegram"'),
        ({"channel": "telegram", "token": "nope"}, "inbox[1].token: expected the token BotFather"),
        (
            {"channel": "telegram", "token": TOKEN, "mode": "webhook"},
            'inbox[1].webhook_secret: required when mode = "webhook"',
        ),
        (
            {"channel": "telegram", "token": TOKEN, "mode": "push"},
            "inbox[1].mode: Input should be 'webhook' or 'polling'",
        ),
        (
            {"channel": "telegram", "token": TOKEN, "api_server": "localhost:8081"},
            "inbox[1].api_server: expected the Bot API's base address",
        ),
        (
            {"channel": "telegram", "token": TOKEN, "agents_chat_id": "group"},
            "inbox[1].agents_chat_id: Input should be a valid integer",
        ),
    ],
)
def test_telegram_inbox_mistakes(inbox: dict, expected: str, tmp_path: Path):
    found = problems({"inbox": [{"name": "tg", **inbox}]}, tmp_path)
    assert any(p.startswith(expected) for p in found), found


def test_telegram_inbox_with_its_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TG_TOKEN", TOKEN)
    config = parse_config(
        {
            "inbox": [
                {
                    "name": "tg",
                    "channel": "telegram",
                    "token": "${TG_TOKEN}",
                    "mode": "webhook",
                    "webhook_secret": "s" * 20,
                }
            ]
        },
        source="x",
        base_dir=tmp_path,
    )
    assert config.inbox[0].token == TOKEN and config.inbox[0].bot_id == 123456789
