"""The key that signs customers' chat cookies: from config (or its ${ENV}), else var/secret_key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from settings.config import Config


def signing_key(config: Config) -> bytes:
    if config.web.secret_key:
        return config.web.secret_key.encode()
    path = config.var_dir / "secret_key"
    if not path.exists():
        _create(path)
    return path.read_text(encoding="ascii").strip().encode()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(48))
