from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, time-zone aware; every stored time is UTC."""
    return datetime.now(UTC)
