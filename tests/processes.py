"""Real ``otklik serve`` processes of given roles, for the scale-out tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

OTKLIK = str(Path(sys.executable).parent / "otklik")


@dataclass
class Process:
    role: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def health(self) -> dict[str, Any] | None:
        """The process's /healthz, or None while it does not answer."""
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=5)) as got,
            ):
                return await got.json()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def leads(self) -> bool:
        health = await self.health()
        return bool(health and health.get("leader") == "leader")

    def kill(self) -> None:
        """SIGKILL: no clean stop, no hand-over."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def write_config(
    folder: Path,
    *,
    database: str,
    redis: str,
    prefix: str,
    public_url: str,
    rules: str,
    inboxes: list[dict[str, Any]],
    settings: tuple[str, ...] = (),
    pool: tuple[int, int] | None = None,
) -> Path:
    """``folder/config.toml`` for processes sharing ``database`` and Redis under ``prefix``,
    with one rule file holding ``rules``; ``settings``: more TOML tables, as written;
    ``pool``: each process's database pool size and overflow (the service's defaults: none)."""
    (folder / "rules").mkdir()
    (folder / "rules" / "10-load.toml").write_text(rules)
    (folder / "surveys").mkdir()
    lines = [
        'locale = "en"',
        f'rules_dir = "{folder / "rules"}"',
        f'surveys_dir = "{folder / "surveys"}"',
        f'[database]\nurl = "{database}"'
        + (f"\npool_size = {pool[0]}\nmax_overflow = {pool[1]}" if pool else ""),
        f'[redis]\nurl = "{redis}"\nprefix = "{prefix}"',
        f'[web]\npublic_url = "{public_url}"\nsecret_key = "{"k" * 40}"',
        '[log]\nlevel = "WARNING"',
        *settings,
    ]
    for inbox in inboxes:
        lines.append("[[inbox]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in inbox.items()))
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def start(role: str, port: int, config: Path, folder: Path) -> Process:
    """Start ``otklik serve --role ROLE --port PORT`` and wait until it answers /healthz."""
    log = folder / f"{role}-{port}.log"
    popen = _spawn(
        [OTKLIK, "serve", "--role", role, "--port", str(port), "--config", str(config)], log
    )
    process = Process(role, port, popen, log)
    deadline = asyncio.get_running_loop().time() + 120  # a loaded machine starts slowly
    while asyncio.get_running_loop().time() < deadline:
        if popen.poll() is not None:
            raise AssertionError(f"{role} on {port} exited:\n{process.tail()}")
        if await process.health() is not None:
            return process
        await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError(f"{role} on {port} did not answer /healthz:\n{process.tail()}")


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
