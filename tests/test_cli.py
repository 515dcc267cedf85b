"""The `otklik` command as an admin runs it: real subprocesses, real files."""

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from core.agents import agent_for_setup
from core.clock import utcnow
from core.db import Database

OTKLIK = str(Path(sys.executable).parent / "otklik")


def run(*args: str, config: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    argv = [OTKLIK, *args] + (["--config", str(config)] if config else [])
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def write_config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "dispatcher_rules").mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_config_check_names_the_broken_key(tmp_path: Path):
    path = write_config(tmp_path, '[[inbox]]\nchannel = "webchat"\n[web]\nport = "x"\n')
    result = run("config", "check", config=path)
    assert result.returncode == 2
    assert 'inbox[1].name: required for channel "webchat"' in result.stderr
    assert "web.port: Input should be a valid integer" in result.stderr


def test_config_path_from_the_environment(tmp_path: Path):
    path = write_config(tmp_path, '[[inbox]]\nname = "web"\nchannel = "webchat"\n')
    result = run("config", "check", OTKLIK_CONFIG=str(path))
    assert result.returncode == 0, result.stderr
    assert "web [webchat]" in result.stdout


def test_migrate_then_add_agents_with_one_time_links(tmp_path: Path):
    path = write_config(tmp_path, '[web]\npublic_url = "https://help.example.com"\n')
    assert run("migrate", config=path).returncode == 0
    added = run(
        "agents", "add", "Ivan Petrov", "--role", "supervisor", "--telegram-id", "42", config=path
    )
    assert added.returncode == 0, added.stderr
    assert "login ivan.petrov" in added.stdout
    token = re.search(r"https://help\.example\.com/inbox/setup/(\S+)", added.stdout)[1]
    agent = asyncio.run(_setup_agent(tmp_path / "var" / "otklik.db", token))
    assert (agent.login, agent.role, agent.telegram_id) == ("ivan.petrov", "supervisor", 42)

    taken = run("agents", "add", "Ivan Petrov", config=path)
    assert taken.returncode == 1 and "login 'ivan.petrov' is taken" in taken.stderr
    cyrillic = run("agents", "add", "Иван", config=path)
    assert cyrillic.returncode == 2 and "--login" in cyrillic.stderr


async def _setup_agent(file: Path, token: str):
    db = Database(f"sqlite+aiosqlite:///{file}")
    try:
        return await agent_for_setup(db, token, utcnow())
    finally:
        await db.close()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path):
    path = write_config(tmp_path, "")
    result = run("serve", config=path)
    assert result.returncode == 1 and "run `otklik migrate` first" in result.stderr


def test_web_and_worker_roles_need_redis(tmp_path: Path):
    path = write_config(tmp_path, "")
    for role in ("web", "worker"):
        result = run("serve", "--role", role, config=path)
        assert result.returncode == 1
        assert f"otklik: --role {role} needs [redis] url" in result.stderr


async def test_serve_prints_where_to_go_and_serves(tmp_path: Path, db: Database):
    port = free_port()
    path = write_config(
        tmp_path,
        (
            f'[database]\nurl = "{db.url}"\n[web]\nport = {port}\n'
            '[[inbox]]\nname = "web"\nchannel = "webchat"\n'
        ),
    )
    proc = await asyncio.create_subprocess_exec(
        OTKLIK,
        "serve",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        lines = []
        while not any("Press Ctrl+C" in line for line in lines):
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert line, "serve exited early"
            lines.append(line.decode())
        out = "".join(lines)
        assert f"Customer chat: http://127.0.0.1:{port}/chat" in out
        assert f"Agent inbox:   http://127.0.0.1:{port}/inbox" in out
        link = re.search(rf"http://127\.0\.0\.1:{port}/inbox/setup/\S+", out)[0]
        async with aiohttp.ClientSession() as http:
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert (await health.json()) == {
                "status": "ok",
                "database": "ok",
                "scheduler": "running",
                "leader": "leader",
            }
            setup = await http.get(link)
            assert setup.status == 200 and "admin" in await setup.text()
    finally:
        proc.terminate()
        await proc.wait()


def test_rules_check_names_file_line_and_rule(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "10-close.toml").write_text(
        '[[rule]]\nid = "ask"\non = "ticket.closed"\ndelay = "soon"\n'
        'then = [{ action = "note", text = "closed" }]\n'
    )
    result = run("rules", "check", str(rules))
    assert result.returncode == 2
    assert f'{rules / "10-close.toml"}:4: rule "ask": delay: expected a duration' in result.stderr
    (rules / "10-close.toml").write_text(
        '[[rule]]\nid = "ask"\non = "ticket.closed"\ndelay = "2h"\n'
        'then = [{ action = "note", text = "closed #{{ ticket.number }}" }]\n'
    )
    ok = run("rules", "check", str(rules))
    assert ok.returncode == 0 and "1 rule(s)" in ok.stdout, ok.stderr
