"""config.toml: the one settings file, validated at start.

Every problem is reported as ``key.path: what was expected``; inbox entries are counted from 1
as an admin counts ``[[inbox]]`` blocks (``inbox[2].name``). A string value ``${NAME}`` is taken
from the environment variable NAME, so secrets need not live in the file.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)

from core.rules.problems import Invalid
from core.rules.values import Duration
from core.sla import Calendar, Level, SupportLevels, read_level
from core.sla.policy import WARN_BEFORE, SlaPolicy

DEFAULT_PATH = Path("config.toml")
ENV_PATH = "OTKLIK_CONFIG"
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_BOT_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
_RESERVED = {"api", "static", "ws", "widget"}  # path segments the web routes use


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every ``path: expectation``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def __str__(self) -> str:
        return f"{self.source} is not valid:\n" + "\n".join(f"  {p}" for p in self.problems)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str = "sqlite+aiosqlite:///var/otklik.db"
    # PostgreSQL connections one process keeps open, and opens beyond them at a peak.
    pool_size: int = Field(20, ge=1, le=500)
    max_overflow: int = Field(10, ge=0, le=500)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                'expected "sqlite+aiosqlite:///PATH" or "postgresql+asyncpg://USER@HOST/DB"'
            )
        return url


class RedisConfig(_Section):
    url: str | None = None
    # Every key starts with it: several installations can share one Redis.
    prefix: str = Field("otklik", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError('expected "redis://HOST:PORT/DB"')
        return url or None


class WebConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = ""
    secret_key: str | None = Field(None, min_length=32)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    metrics_token: str | None = Field(None, min_length=16)  # None: /metrics from loopback only

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError('expected an address starting with "http://" or "https://"')
        return url.rstrip("/")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


class SenderConfig(_Section):
    max_attempts: int = Field(8, ge=1, le=100)
    first_retry_seconds: float = Field(2.0, gt=0)
    max_retry_seconds: float = Field(600.0, gt=0)
    lease_seconds: float = Field(60.0, gt=0)


class WorkerConfig(_Section):
    # How long a worker's claim on a rule run holds without renewal (renewed every third of
    # it while the run is held): the runs of a worker that died are taken over after this.
    lease_seconds: float = Field(60.0, ge=1)


class LogConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class RatingsConfig(_Section):
    """How the public rating page treats a rating already given."""

    public_page_allows_change: bool = True


class Texts(_Section):
    """A user-facing text in both locales."""

    en: str
    ru: str


class _Inbox(_Section):
    name: str
    title: str = "Support"
    calendar: str | None = None  # a [calendars.<name>]: the inbox's working hours

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("expected lowercase letters, digits, '-' or '_' (at most 40)")
        if name in _RESERVED:
            raise ValueError(f"{name!r} is reserved; choose another name")
        return name


# What a messenger bot says to a customer who starts a chat (Telegram /start, VK Start, …).
MESSENGER_GREETING = Texts(
    en="Hello! Write your question here and we will answer in this chat.",
    ru="Здравствуйте! Напишите вопрос — мы ответим в этом чате.",
)


class WebchatInbox(_Inbox):
    channel: Literal["webchat"]
    greeting: Texts = Texts(
        en="Hello! Write your question and we will answer here.",
        ru="Здравствуйте! Напишите вопрос — мы ответим здесь.",
    )


class TelegramInbox(_Inbox):
    """A Telegram bot. Webhook mode needs ``web.public_url`` reachable by Telegram (https)."""

    channel: Literal["telegram"]
    token: str
    mode: Literal["webhook", "polling"] = "polling"
    webhook_secret: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{16,256}$")
    api_server: str = "https://api.telegram.org"
    agents_chat_id: int | None = None
    # Other inboxes whose tickets also get topics in the agents' forum (answered from there).
    mirror: tuple[str, ...] = ()
    greeting: Texts = MESSENGER_GREETING

    @field_validator("token")
    @classmethod
    def _bot_token(cls, token: str) -> str:
        if not _BOT_TOKEN.match(token):
            raise ValueError('expected the token BotFather gave, like "123456789:AAE…"')
        return token

    @field_validator("api_server")
    @classmethod
    def _http_base(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                'expected the Bot API\'s base address, e.g. "https://api.telegram.org"'
            )
        return url.rstrip("/")

    @model_validator(mode="after")
    def _secret_for_webhooks(self) -> TelegramInbox:
        if self.mode == "webhook" and not self.webhook_secret:
            raise ValueError('webhook_secret: required when mode = "webhook"')
        return self

    @model_validator(mode="after")
    def _mirror_into_a_forum(self) -> TelegramInbox:
        if self.mirror and self.agents_chat_id is None:
            raise ValueError("mirror: needs agents_chat_id, the forum the tickets are mirrored to")
        return self

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])


def _api_base(url: str, example: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f'expected the API\'s base address, e.g. "{example}"')
    return url.rstrip("/")


class VkInbox(_Inbox):
    """A VK community's messages, by the Callback API (a webhook) or the Bots Long Poll API."""

    channel: Literal["vk"]
    token: str = Field(min_length=20)  # the community's access token (messages rights)
    group_id: int = Field(gt=0)
    mode: Literal["callback", "longpoll"] = "callback"
    secret: str | None = Field(None, pattern=r"^[A-Za-z0-9]{8,50}$")
    confirmation: str | None = Field(None, min_length=1, max_length=50)
    api_url: str = "https://api.vk.com/method"
    greeting: Texts = MESSENGER_GREETING

    @field_validator("api_url")
    @classmethod
    def _base(cls, url: str) -> str:
        return _api_base(url, "https://api.vk.com/method")

    @model_validator(mode="after")
    def _callback_needs(self) -> VkInbox:
        if self.mode == "callback" and not (self.secret and self.confirmation):
            raise ValueError(
                'secret and confirmation: both required when mode = "callback" (the secret key '
                "and the confirmation string from the community's Callback API settings)"
            )
        return self


class ViberInbox(_Inbox):
    """A Viber bot (the REST Bot API); its webhook needs ``web.public_url`` over https."""

    channel: Literal["viber"]
    token: str = Field(min_length=20)  # the bot's authentication token
    sender_name: str = Field("Support", min_length=1, max_length=28)
    api_url: str = "https://chatapi.viber.com/pa"
    greeting: Texts = MESSENGER_GREETING

    @field_validator("api_url")
    @classmethod
    def _base(cls, url: str) -> str:
        return _api_base(url, "https://chatapi.viber.com/pa")


_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]+\]?$")
_ADDRESS = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}$")
TlsMode = Literal["ssl", "starttls", "none"]


class MailServer(_Section):
    """Where an email inbox reads (IMAP) or sends (SMTP); ``tls``: "ssl" (TLS from the first
    byte), "starttls" (plain, then upgraded) or "none" (plain text: only on a trusted link).
    ``ca_file``: the CA certificates (PEM) that signed the server's certificate, trusted
    instead of the system's (a company's own CA)."""

    host: str
    port: int = Field(ge=1, le=65535)
    user: str = Field(min_length=1)
    password: str = Field(min_length=1)  # normally "${ENV}"
    tls: TlsMode = "ssl"
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _ca_for_tls(self) -> MailServer:
        if self.ca_file is not None and self.tls == "none":
            raise ValueError('ca_file: only with tls = "ssl" or "starttls"')
        return self

    def tls_context(self) -> ssl.SSLContext:
        """What the connection trusts: ``ca_file``, else the system's CA certificates."""
        return ssl.create_default_context(cafile=self.ca_file)

    @field_validator("host")
    @classmethod
    def _hostname(cls, host: str) -> str:
        if not _HOST.match(host):
            raise ValueError(
                f'expected a host name or IP address such as "imap.example.com", got "{host}"'
            )
        return host


class EmailInbox(_Inbox):
    """A mailbox: new mail is read by IMAP (IDLE, else every ``poll_seconds``), answers go
    out by SMTP from ``address``."""

    channel: Literal["email"]
    address: str
    imap: MailServer
    smtp: MailServer
    poll_seconds: float = Field(60.0, ge=1, le=3600)  # when the IMAP server lacks IDLE
    max_attachment_bytes: int = Field(10_485_760, ge=0)

    @field_validator("address")
    @classmethod
    def _mail_address(cls, address: str) -> str:
        if not _ADDRESS.match(address):
            raise ValueError(
                f'expected an email address such as "support@example.com", got "{address}"'
            )
        return address.lower()

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


# [calendars.<name>] and [[sla.level]]: checked by core.sla, which names the key at fault.
CalendarTable = Annotated[Calendar, PlainValidator(Calendar.from_config)]
LevelTable = Annotated[Level, PlainValidator(read_level)]


class SlaConfig(_Section):
    """Support levels, checked in order; none configured: no SLA. ``warn_before``: working
    time before a deadline that its warning event comes."""

    level: tuple[LevelTable, ...] = ()
    warn_before: Duration = WARN_BEFORE


InboxConfig = Annotated[
    WebchatInbox | TelegramInbox | VkInbox | ViberInbox | EmailInbox,
    Field(discriminator="channel"),
]


class Config(_Section):
    locale: Literal["ru", "en"] = "en"
    timezone: str = "UTC"
    rules_dir: Path = Path("dispatcher_rules")
    surveys_dir: Path = Path("surveys")
    database: DatabaseConfig = DatabaseConfig()
    redis: RedisConfig = RedisConfig()
    web: WebConfig = WebConfig()
    sender: SenderConfig = SenderConfig()
    worker: WorkerConfig = WorkerConfig()
    log: LogConfig = LogConfig()
    ratings: RatingsConfig = RatingsConfig()
    inbox: list[InboxConfig] = []
    calendars: dict[str, CalendarTable] = {}
    sla: SlaConfig = SlaConfig()
    base_dir: Path = Path(".")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'expected an IANA time zone such as "Europe/Moscow", got "{name}"'
            ) from None
        return name

    @model_validator(mode="after")
    def _unique_inbox_names(self) -> Config:
        seen: set[str] = set()
        for inbox in self.inbox:
            if inbox.name in seen:
                raise ValueError(f'inbox name "{inbox.name}" is used twice; names must be unique')
            seen.add(inbox.name)
        return self

    @model_validator(mode="after")
    def _levels_use_known_calendars(self) -> Config:
        try:
            self.support_levels  # noqa: B018 (checked once, at start)
        except Invalid as exc:
            raise Invalid(str(exc), "sla", "level", *exc.path) from None
        return self

    @model_validator(mode="after")
    def _inboxes_use_known_calendars(self) -> Config:
        for i, inbox in enumerate(self.inbox):
            if inbox.calendar is not None and inbox.calendar not in self.calendars:
                known = ", ".join(self.calendars) or "none defined"
                raise Invalid(
                    f'unknown calendar "{inbox.calendar}"; expected one of: {known}',
                    "inbox",
                    i,
                    "calendar",
                )
        return self

    @model_validator(mode="after")
    def _mirrors_name_inboxes_without_a_forum(self) -> Config:
        forum_of: dict[str, str] = {}  # a mirrored inbox → the forum's inbox
        for i, inbox in enumerate(self.inbox):
            if not isinstance(inbox, TelegramInbox):
                continue
            for j, name in enumerate(inbox.mirror):
                mirrored = self.inbox_named(name)
                if mirrored is None:
                    known = ", ".join(x.name for x in self.inbox if x is not inbox)
                    problem = f'unknown inbox "{name}"; expected one of: {known or "none"}'
                elif mirrored is inbox:
                    problem = "the inbox's own tickets are in its forum already"
                elif isinstance(mirrored, TelegramInbox) and mirrored.agents_chat_id is not None:
                    problem = f'inbox "{name}" has a forum of its own (agents_chat_id)'
                elif name in forum_of:
                    problem = f'inbox "{name}" is mirrored by inbox "{forum_of[name]}" already'
                else:
                    forum_of[name] = inbox.name
                    continue
                raise Invalid(problem, "inbox", i, "mirror", j)
        return self

    @property
    def support_levels(self) -> SupportLevels:
        return SupportLevels.of(self.sla.level, self.calendars)

    @property
    def sla_policy(self) -> SlaPolicy:
        """What the deadlines, escalations and ``within_working_hours`` go by."""
        return SlaPolicy(
            self.support_levels,
            self.calendars,
            self.sla.warn_before,
            {i.name: i.calendar for i in self.inbox if i.calendar is not None},
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def var_dir(self) -> Path:
        return self.base_dir / "var"

    def inbox_named(self, name: str) -> InboxConfig | None:
        return next((i for i in self.inbox if i.name == name), None)


def config_path(explicit: str | Path | None = None) -> Path:
    """The file to read: ``--config``, else ``$OTKLIK_CONFIG``, else ``./config.toml``."""
    return Path(explicit or os.environ.get(ENV_PATH) or DEFAULT_PATH)


def load_config(path: str | Path | None = None) -> Config:
    """Read, resolve ``${ENV}`` references, validate; raise ConfigError naming every problem."""
    file = config_path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(file), ["file not found (set --config or OTKLIK_CONFIG)"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), [f"not valid TOML: {exc}"]) from None
    return parse_config(raw, source=str(file), base_dir=file.resolve().parent)


def parse_config(raw: dict[str, Any], *, source: str, base_dir: Path) -> Config:
    problems: list[str] = []
    resolved = _resolve_env(raw, (), problems)
    if "base_dir" in resolved:
        problems.append("base_dir: not a setting (it is the config file's folder)")
    if problems:
        raise ConfigError(source, problems)
    try:
        config = Config.model_validate({**resolved, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, [_describe(err) for err in exc.errors()]) from None
    config = _anchor_paths(config)
    if problems := _unreadable_ca_files(config):
        raise ConfigError(source, problems)
    return config


def _resolve_env(value: Any, path: tuple[Any, ...], problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*path, i), problems) for i, v in enumerate(value)]
    if isinstance(value, str) and (ref := _ENV_REF.match(value)):
        name = ref.group(1)
        if name not in os.environ:
            problems.append(f"{_dotted(path)}: environment variable {name} is not set")
            return value
        return os.environ[name]
    return value


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: Any) -> str:
    # Union tags ("<field>") of the rules' conditions are no keys: dropped.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("<")))
    if isinstance(cause := err.get("ctx", {}).get("error"), Invalid):  # says where itself
        return f"{_dotted((*loc, *cause.path))}: {cause}"
    channel = None
    if len(loc) >= 3 and loc[0] == "inbox" and isinstance(loc[1], int):
        channel, loc = loc[2], (*loc[:2], *loc[3:])
    kind, message = err["type"], err["msg"]
    if kind == "missing":
        message = f'required for channel "{channel}"' if channel else "required"
    elif kind == "extra_forbidden":
        message = "unknown key" + (f' for channel "{channel}"' if channel else "")
    elif kind == "union_tag_invalid":
        tags = err["ctx"]["expected_tags"]
        message = f"unknown channel {err['ctx']['tag']!r}; expected one of: {tags}"
        loc = (*loc, "channel")
    elif kind == "union_tag_not_found":
        message = "required: the inbox's channel"
        loc = (*loc, "channel")
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        if field := re.match(r"^(\w+): ", message):  # a rule about one key of this section
            loc, message = (*loc, field[1]), message[field.end() :]
    return f"{_dotted(loc)}: {message}"


def _anchor_paths(config: Config) -> Config:
    """Relative paths (rules, surveys, the SQLite file) are relative to the config file's folder."""
    base = config.base_dir
    rules = config.rules_dir if config.rules_dir.is_absolute() else base / config.rules_dir
    surveys = config.surveys_dir if config.surveys_dir.is_absolute() else base / config.surveys_dir
    url = config.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        url = prefix + str(base / url.removeprefix(prefix))
    return config.model_copy(
        update={
            "rules_dir": rules,
            "surveys_dir": surveys,
            "database": config.database.model_copy(update={"url": url}),
            "inbox": [_anchor_ca_files(inbox, base) for inbox in config.inbox],
        }
    )


def _anchor_ca_files(inbox: InboxConfig, base: Path) -> InboxConfig:
    if not isinstance(inbox, EmailInbox):
        return inbox
    servers = {}
    for key in ("imap", "smtp"):
        server: MailServer = getattr(inbox, key)
        if server.ca_file is not None and not server.ca_file.is_absolute():
            servers[key] = server.model_copy(update={"ca_file": base / server.ca_file})
    return inbox.model_copy(update=servers)


def _unreadable_ca_files(config: Config) -> list[str]:
    """A ``ca_file`` that is missing or holds no certificate, found at start, not at the
    first connection."""
    problems = []
    for i, inbox in enumerate(config.inbox):
        for key in ("imap", "smtp") if isinstance(inbox, EmailInbox) else ():
            server: MailServer = getattr(inbox, key)
            if server.ca_file is None:
                continue
            try:
                server.tls_context()
            except (OSError, ssl.SSLError) as exc:
                where = _dotted(("inbox", i, key, "ca_file"))
                problems.append(
                    f"{where}: cannot read CA certificates from {server.ca_file}: {exc}"
                )
    return problems
