"""The ``otklik`` command: serve, migrate, agents add / supervisor, config check, rules check."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import make_url

from core import agents
from core.clock import utcnow
from core.db import Database
from core.errors import NotFound, OtklikError
from core.models import Agent
from core.models import Role as AgentRole
from core.rules import RulesError, RuleSet, load_rules
from core.surveys import SurveysError, load_surveys
from core.surveys.checks import unknown_surveys
from otklik import roles
from otklik.logs import setup_logging
from otklik.migrate import upgrade
from otklik.roles import Role
from otklik.schema import pending_migrations
from otklik.service import build_app, first_admin_link
from settings.config import ENV_PATH, Config, ConfigError, load_config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # `rules check DIR` needs no settings file; every other command reads it.
        config = None if getattr(args, "dir", None) else load_config(args.config)
        return args.run(config, args)
    except ConfigError as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    except RulesError as exc:
        print("otklik: the rules are not valid; nothing was changed:", file=sys.stderr)
        print(*(f"  {problem}" for problem in exc.problems), sep="\n", file=sys.stderr)
        return 2
    except SurveysError as exc:
        print("otklik: the surveys are not valid:", file=sys.stderr)
        print(*(f"  {problem}" for problem in exc.problems), sep="\n", file=sys.stderr)
        return 2
    except OtklikError as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"settings file (default: ${ENV_PATH} or ./config.toml)",
    )
    parser = argparse.ArgumentParser(
        prog="otklik", parents=[common], description="Otklik customer-support service"
    )
    parser.set_defaults(config=None)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run the service")
    serve.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.ALL.value,
        help="all (default): everything in one process; web: HTTP and webhooks; worker: "
        "rule runs, sending, polling (web and worker need [redis] url)",
    )
    serve.add_argument("--port", type=int, help="listen on this port (default: [web] port)")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", parents=[common], help="apply database migrations")
    migrate.set_defaults(run=_migrate)

    agents_cmd = commands.add_parser("agents", help="manage agents").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = agents_cmd.add_parser("add", parents=[common], help="add an agent")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in AgentRole], default=AgentRole.AGENT.value)
    add.add_argument("--login", help="sign-in name (default: from NAME, e.g. ivan.petrov)")
    add.add_argument("--telegram-id", type=int, help="the agent's Telegram user id")
    add.add_argument("--supervisor", metavar="LOGIN", help="the supervisor's login")
    add.set_defaults(run=_add_agent)
    boss = agents_cmd.add_parser(
        "supervisor", parents=[common], help="set or clear an agent's supervisor"
    )
    boss.add_argument("login")
    who = boss.add_mutually_exclusive_group(required=True)
    who.add_argument("supervisor", nargs="?", metavar="SUPERVISOR_LOGIN")
    who.add_argument("--none", action="store_true", help="clear the supervisor")
    boss.set_defaults(run=_set_supervisor)

    config_cmd = commands.add_parser("config", help="settings").add_subparsers(
        required=True, metavar="ACTION"
    )
    check = config_cmd.add_parser("check", parents=[common], help="validate the settings file")
    check.set_defaults(run=_check)

    rules_cmd = commands.add_parser("rules", help="dispatcher rules").add_subparsers(
        required=True, metavar="ACTION"
    )
    rules_check = rules_cmd.add_parser(
        "check", parents=[common], help="validate the rule files (default: rules_dir)"
    )
    rules_check.add_argument("dir", nargs="?", help="a folder of *.toml rule files")
    rules_check.set_defaults(run=_check_rules)
    return parser


def _serve(config: Config, args: argparse.Namespace) -> int:
    role = Role(args.role)
    roles.check(role, config.redis.url)
    setup_logging(config.log.level, as_json=config.log.format == "json")
    return asyncio.run(_serve_async(config, role, args.port or config.web.port))


async def _serve_async(config: Config, role: Role, port: int) -> int:
    db = Database(config.database.url)
    try:
        if problem := await pending_migrations(db):
            print(f"otklik: {problem}", file=sys.stderr)
            return 1
        link = await first_admin_link(config, db)
    finally:
        await db.close()
    app = await build_app(config, role=role)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.web.host, port).start()
    # What start-up built lives as long as the process: the cyclic garbage collector need not
    # scan it again and again, which kept the event loop stalled for 100 ms and more under load
    # (bench/delays.py).
    gc.freeze()
    base = config.web.base_url
    webchats = [i.name for i in config.inbox if i.channel == "webchat"]
    named = "" if role is Role.ALL else f" ({role})"
    print(f"\nOtklik{named} is running on http://{config.web.host}:{port}")
    if not role.serves:
        print("  This worker serves only /healthz and /metrics.")
    elif webchats:
        print(f"  Customer chat: {base}/chat" + (f"  (inbox {webchats[0]})"))
    if role.serves:
        print(f"  Agent inbox:   {base}/inbox")
    if link:
        print(f"  First sign-in: open {link} to set the admin's password (one-time, 3 days)")
    print("Press Ctrl+C to stop.\n", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # the sender finishes its row; nothing queued is lost
    return 0


def _migrate(config: Config, _args: argparse.Namespace) -> int:
    upgrade(config.database.url)
    print(f"otklik: database at {_safe_url(config.database.url)} is up to date")
    return 0


def _add_agent(config: Config, args: argparse.Namespace) -> int:
    login = args.login or agents.login_from_name(args.name)
    if not login:
        print("otklik: cannot make a login from that name; give one with --login", file=sys.stderr)
        return 2
    try:
        new = asyncio.run(_add(config, args.name, login, AgentRole(args.role), args))
    except NotFound as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    print(f"Agent {new.agent.name} ({new.agent.role}) added with login {new.agent.login}.")
    print(
        f"One-time setup link (valid 3 days): {config.web.base_url}/inbox/setup/{new.setup_token}"
    )
    return 0


async def _add(
    config: Config, name: str, login: str, role: AgentRole, args: argparse.Namespace
) -> agents.NewAgent:
    db = Database(config.database.url)
    try:
        return await agents.add_agent(
            db, name, login, role, utcnow(), args.telegram_id, args.supervisor
        )
    finally:
        await db.close()


def _set_supervisor(config: Config, args: argparse.Namespace) -> int:
    try:
        agent = asyncio.run(_supervise(config, args.login, args.supervisor))
    except NotFound as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    if args.supervisor:
        print(f"{agent.login} now reports to {args.supervisor.lower()}.")
    else:
        print(f"{agent.login} has no supervisor now: their tasks go to the supervisors' team.")
    return 0


async def _supervise(config: Config, login: str, supervisor: str | None) -> Agent:
    db = Database(config.database.url)
    try:
        return await agents.set_supervisor(db, login, supervisor)
    finally:
        await db.close()


def _check(config: Config, _args: argparse.Namespace) -> int:
    if not config.rules_dir.is_dir():
        raise ConfigError("config", [f"rules_dir: folder {config.rules_dir} does not exist"])
    _check_surveys(config, load_rules(config.rules_dir))
    print(
        f"otklik: configuration is valid ({len(config.inbox)} inbox(es): "
        f"{', '.join(f'{i.name} [{i.channel}]' for i in config.inbox) or 'none'})"
    )
    return 0


def _check_rules(config: Config | None, args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else config.rules_dir if config else Path(".")
    if not folder.is_dir():
        print(f"otklik: {folder} is not a folder", file=sys.stderr)
        return 2
    rules = load_rules(folder)
    if config is not None:
        _check_surveys(config, rules)
    print(f"otklik: {len(rules)} rule(s) in {folder} are valid")
    return 0


def _check_surveys(config: Config, rules: RuleSet) -> None:
    """The survey files, and the surveys the rules' ``request_survey`` name."""
    problems = unknown_surveys(rules, load_surveys(config.surveys_dir))
    if problems:
        raise RulesError(problems)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
