"""The rate limiter's cost: authenticated API requests (`GET /api/me` with a team token, in
process through the WSGI test client) with the limits counted in the database against the same
requests with the limit off, alternating, on one SQLite database (and on PostgreSQL when
ARENA_BENCH_POSTGRES_URL names an empty database). Reported as the time per request of each and
their ratio (1.0: counting costs nothing); the counting is one upsert and one read in a
transaction of its own per request.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

REQUESTS = 300


def _app(home: Path, database_url: str):
    from arena import create_app
    from arena.db import upgrade

    app = create_app(
        {
            "home": home,
            "database_url": database_url,
            "master_key_file": home / "master.key",
            "runner": "fake",
            "rate_limit_per_minute": 10**9,
        }
    )
    upgrade(app.extensions["arena"].engine)
    return app


def _per_request_ms(client, token: str, limiter, limit: int) -> float:
    limiter.limit = limit
    started = time.perf_counter()
    for _ in range(REQUESTS):
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return (time.perf_counter() - started) * 1000 / REQUESTS


def _measure(database_url: str, home: Path, repeats: int) -> dict:
    from arena.services import accounts

    app = _app(home, database_url)
    token = accounts.create_team(app.extensions["arena"], name="Bench", factories=[])[1]
    client, limiter = app.test_client(), app.extensions["arena.ratelimit"]
    off, on = [], []
    for _ in range(repeats):
        off.append(_per_request_ms(client, token, limiter, 0))
        on.append(_per_request_ms(client, token, limiter, 10**9))
    app.extensions["arena"].engine.dispose()
    baseline, counted = statistics.median(off), statistics.median(on)
    return {
        "benchmark": "ratelimit",
        "database": database_url.split(":", 1)[0].split("+")[0],
        "requests": REQUESTS,
        "off_ms_per_request": round(baseline, 3),
        "counted_ms_per_request": round(counted, 3),
        "ratio": round(baseline / counted, 2),
    }


def bench_ratelimit(repeats: int = 5) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="arena-bench-rate-") as tmp:
        results.append(_measure(f"sqlite:///{tmp}/arena.db", Path(tmp) / "home", repeats))
        if os.environ.get("ARENA_BENCH_POSTGRES_URL"):
            results.append(_measure(os.environ["ARENA_BENCH_POSTGRES_URL"], Path(tmp) / "home-pg", repeats))
    return results


def print_ratelimit(results: list[dict]) -> None:
    for result in results:
        print(
            f"rate limits in the database ({result['database']}): {result['requests']} authenticated "
            f"requests, counted {result['counted_ms_per_request']} ms/request vs limit off "
            f"{result['off_ms_per_request']} ms/request: ratio {result['ratio']} (1.0 = counting costs nothing)"
        )


if __name__ == "__main__":
    print_ratelimit(bench_ratelimit(3))
