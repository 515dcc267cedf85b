"""Attachments' bytes, kept under var/email/<inbox>/ by their SHA-256 (the same file sent
twice is kept once; a file written before a crash is simply found again)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class FileStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def keep(self, content: bytes) -> str:
        """Store ``content``; its id (the hex SHA-256)."""
        return await asyncio.to_thread(self._keep, content)

    async def open(self, file_id: str) -> bytes:
        if not _DIGEST.match(file_id):
            raise FileNotFoundError(f"no email attachment {file_id!r}")
        return await asyncio.to_thread((self.folder / file_id).read_bytes)

    def _keep(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        path = self.folder / digest
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(content)
            partial.replace(path)  # atomic: a reader never sees half a file
        return digest
