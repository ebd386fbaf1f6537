"""Times: the store keeps SQLite's ``datetime('now')`` text (UTC); gsm shows ISO 8601 UTC."""

from datetime import UTC, datetime


def utc_now_sql() -> str:
    """Now, in the store's own format (what ``datetime('now')`` writes)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(value: str | None) -> str | None:
    """'2026-11-25 14:00:00' (or already ISO) -> '2026-11-25T14:00:00Z'."""
    if not value:
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
