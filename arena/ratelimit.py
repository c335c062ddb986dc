"""Request rate limits per team and per organiser (not per token: more tokens buy no more
requests), counted in the database, so every API process, on any machine, shares one count.

A sliding window over two one-minute counters (`rate_counters`): the estimate is this minute's
count plus last minute's, weighted by how much of last minute still lies within sixty seconds.
Each request is one upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, on PostgreSQL and
SQLite alike) and one read; a key's counters older than last minute are deleted when it starts a
new minute, so the table holds at most two rows per active key.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from arena.models import RateCounter

WINDOW_S = 60


class RateLimiter:
    def __init__(self, *, platform, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.platform, self.limit, self.clock = platform, per_minute, clock

    def allow(self, key: str) -> float:
        """0 when the request may go ahead (it is counted); otherwise the seconds to wait (a
        refused request is not counted)."""
        if self.limit <= 0:
            return 0.0
        window, into = divmod(self.clock(), WINDOW_S)
        window = int(window)
        with self.platform.transaction() as session:
            count = _count(session, key, window)
            previous = (
                session.scalar(
                    select(RateCounter.count).where(RateCounter.key == key, RateCounter.window == window - 1)
                )
                or 0
            )
            if count == 1:
                session.execute(delete(RateCounter).where(RateCounter.key == key, RateCounter.window < window - 1))
            if count + previous * (1 - into / WINDOW_S) <= self.limit:
                return 0.0
            session.execute(
                update(RateCounter)
                .where(RateCounter.key == key, RateCounter.window == window)
                .values(count=RateCounter.count - 1)
            )
        return _wait(count, previous, into, self.limit)


def _count(session, key: str, window: int) -> int:
    """Add one to the key's counter of this window, atomically; returns the new count."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(RateCounter).values(key=key, window=window, count=1)
    upsert = insert.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window], set_={"count": RateCounter.count + 1}
    )
    return session.execute(upsert.returning(RateCounter.count)).scalar_one()


def _wait(count: int, previous: int, into: float, limit: int) -> float:
    """Seconds until the estimate falls back under the limit: when enough of last minute has
    slid out of the window, or at the next minute if this minute alone is over it."""
    if previous and count <= limit:
        needed = 1 - (limit - count) / previous  # the fraction of this minute that must have passed
        return max(1.0, (needed * WINDOW_S) - into)
    return max(1.0, WINDOW_S - into)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
