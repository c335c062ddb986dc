from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Naive UTC: what the database stores (SQLite keeps no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


def next_utc_midnight(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day) + timedelta(days=1)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"
