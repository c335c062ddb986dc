"""The leaderboard under load: its page and its JSON with 10,000 submissions from 200 teams, against
a static file served by the same server, same run. `arena serve` runs as its own process; a load
generator (threads, keep-alive connections) on loopback sends the requests, interleaved."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from arena.config import load_settings
from arena.db import upgrade
from arena.models import Submission
from arena.runtime import build_platform
from arena.services import accounts, publiclog
from arena.services.challenges import create_challenge
from bench.run import write_bundle

ARENA = str(Path(sys.executable).parent / "arena")


def seed(home: Path, *, teams: int, submissions: int) -> None:
    """Receipts and released results in the public log (what the board is computed from)."""
    settings = load_settings(
        overrides={"home": home, "database_url": f"sqlite:///{home}/arena.db", "master_key_file": home / "master.key"}
    )
    platform = build_platform(settings)
    upgrade(platform.engine)
    create_challenge(
        platform,
        organiser_id=accounts.create_organiser(platform, name="Bench")[0].id,
        bundle_dir=write_bundle(home / "bundle", 300),
    )
    names = [
        accounts.create_team(platform, name=f"Team {i:03d}", factories=[f"Factory {i % 37}"])[0].name
        for i in range(teams)
    ]
    for start in range(0, submissions, 1000):
        with platform.transaction() as session:
            for i in range(start, min(start + 1000, submissions)):
                team = names[i % teams]
                score = round(0.5 + 0.4 * ((i * 7919) % 1000) / 1000, 4)
                publiclog.append(
                    platform,
                    session,
                    kind="submission.receipt",
                    challenge="bench",
                    data={
                        "submission": f"sub-{i:016x}",
                        "team": team,
                        "image_digest": "sha256:" + "0" * 64,
                        "hidden_set": "hs",
                        "round": None,
                    },
                )
                publiclog.append(
                    platform,
                    session,
                    kind="result",
                    challenge="bench",
                    data={
                        "submission": f"sub-{i:016x}",
                        "team": team,
                        "split": "public",
                        "metric": "accuracy",
                        "score": score,
                        "released": True,
                        "ci_low": score - 0.03,
                        "ci_high": score + 0.03,
                        "n_items": 90,
                        "item_scores_sha256": "0" * 64,
                        "hidden_set": "hs",
                        "hidden_set_root": "0" * 64,
                    },
                )
    assert Submission  # the board needs no submission rows: it is computed from the log
    platform.engine.dispose()


def _load(url: str, paths: list[str], per_path: int, concurrency: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {p: [] for p in paths}
    order = [p for _ in range(per_path) for p in paths]  # interleaved
    lock, position = threading.Lock(), [0]

    def worker():
        http = requests.Session()
        while True:
            with lock:
                if position[0] >= len(order):
                    return
                path = order[position[0]]
                position[0] += 1
            started = time.perf_counter()
            response = http.get(url + path, timeout=60)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            with lock:
                times[path].append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_web(*, teams: int = 200, submissions: int = 10_000, per_path: int = 100, concurrency: int = 8) -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-web-bench-") as tmp:
        home = Path(tmp) / "home"
        seed(home, teams=teams, submissions=submissions)
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {
            **os.environ,
            "ARENA_HOME": str(home),
            "ARENA_EMBEDDED_WORKER": "0",
            "ARENA_RUNNER": "fake",
            "ARENA_RATE_LIMIT_PER_MINUTE": "0",
        }
        server = subprocess.Popen(
            [ARENA, "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests.get(url + "/api/health", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            paths = ["/static/arena.css", "/challenges/bench", "/api/challenges/bench/leaderboard"]
            _load(url, paths, 5, concurrency)  # warm-up
            times = _load(url, paths, per_path, concurrency)
        finally:
            server.terminate()
            server.wait(timeout=30)
    static = statistics.median(times[paths[0]])
    out = {
        "name": "web_leaderboard",
        "teams": teams,
        "submissions": submissions,
        "requests_each": per_path,
        "concurrency": concurrency,
    }
    for label, path in (("static", paths[0]), ("page", paths[1]), ("json", paths[2])):
        out[f"{label}_p50_ms"] = round(1000 * statistics.median(times[path]), 2)
        out[f"{label}_p99_ms"] = round(1000 * _pct(times[path], 0.99), 2)
    out["page_ratio_p50"] = round(statistics.median(times[paths[1]]) / static, 1)
    out["json_ratio_p50"] = round(statistics.median(times[paths[2]]) / static, 1)
    return out


def print_web(result: dict) -> None:
    print(
        f"web: the leaderboard with {result['submissions']:,} submissions from {result['teams']} teams, "
        f"{result['requests_each']} requests each, {result['concurrency']} at a time, interleaved"
    )
    for label, name in (
        ("static", "static file (baseline)"),
        ("page", "leaderboard page"),
        ("json", "leaderboard JSON"),
    ):
        print(f"  {name:<24} p50 {result[f'{label}_p50_ms']:>8.2f} ms   p99 {result[f'{label}_p99_ms']:>8.2f} ms")
    print(f"  ratio to the static file (p50): page {result['page_ratio_p50']}x, JSON {result['json_ratio_p50']}x")
