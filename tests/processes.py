"""Real ``otklik serve`` processes of given roles, for the scale-out tests."""

from __future__ import annotations

import asyncio
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
