from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, as the seed's TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None)
