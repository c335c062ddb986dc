"""Per-token request rate limiting: a token bucket per token, in this process's memory.

With several API processes each enforces its own bucket, so the effective limit is the per-process
limit times the number of processes; enough to stop a runaway script, not an accounting system.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, *, per_minute: int, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, per_minute)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait before trying again."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
