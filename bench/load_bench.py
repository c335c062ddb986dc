"""A busy programme's submissions under load: the production layout (PostgreSQL, the API under
gunicorn with two processes, `arena worker` processes, the real engine), teams each submitting the
tiny example model through the CLI, 8 at a time. Two workers against the same jobs run by one
worker alone, same run: submissions per minute, CLI submit latency p50/p99, drain time (from the
first submit to the last score), and a check that each submission was scored exactly once.

Needs PostgreSQL (ARENA_TEST_POSTGRES_URL, as the tests) and `arena-example/tiny` (scripts/setup.sh).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from arena.client import ArenaClient
from arena.models import Result, Submission

ARENA = str(Path(sys.executable).parent / "arena")
POSTGRES = os.environ.get("ARENA_TEST_POSTGRES_URL", "postgresql+psycopg://arena:arena@127.0.0.1:5432/arena")
TINY = "arena-example/tiny"
CHALLENGE = (
    "slug: load\ntitle: Load\nmetric: accuracy\ndaily_quota: 10\nmax_pending: 5\n"
    "limits: {time_limit_seconds: 60, memory_mb: 128, cpus: 0.5, pids: 32}\n"
)


def _bundle(folder: Path, items: int = 20) -> Path:
    folder.mkdir(parents=True)
    (folder / "challenge.yaml").write_text(CHALLENGE)
    with (folder / "inputs.jsonl").open("w") as inputs, (folder / "labels.jsonl").open("w") as labels:
        for i in range(items):
            inputs.write(json.dumps({"id": f"i{i}", "input": {"x": i}}) + "\n")
            labels.write(json.dumps({"id": f"i{i}", "label": "even" if i % 2 == 0 else "odd"}) + "\n")
    return folder


def _database() -> str:
    name = f"arena_bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'drop database if exists "{make_url(url).database}" with (force)'))
    admin.dispose()


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(work: Path, database: str, workers: int) -> tuple[dict, list[subprocess.Popen]]:
    port, tag = _port(), secrets.token_hex(3)
    env = {
        **os.environ,
        "ARENA_HOME": str(work / "home"),
        "ARENA_DATABASE_URL": database,
        "ARENA_URL": f"http://127.0.0.1:{port}",
        "ARENA_EMBEDDED_WORKER": "0",
        "ARENA_JOB_ROOT": f"/dev/shm/arena-load-{tag}",
        "ARENA_SCRATCH_DIR": f"/dev/shm/arena-load-{tag}-scratch",
    }
    env.pop("ARENA_TOKEN", None)
    log = (work / "serve.log").open("w")
    processes = [
        subprocess.Popen([ARENA, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=log)
    ]
    processes += [subprocess.Popen([ARENA, "worker"], env=env, stdout=log, stderr=log) for _ in range(workers)]
    log.close()
    for _ in range(300):
        try:
            if requests.get(env["ARENA_URL"] + "/api/health", timeout=1).ok:
                return env, processes
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("arena serve did not answer; see " + str(work / "serve.log"))


def _stop(env: dict, processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)
    shutil.rmtree(env["ARENA_JOB_ROOT"], ignore_errors=True)
    shutil.rmtree(env["ARENA_SCRATCH_DIR"], ignore_errors=True)


def _submit(env: dict, token: str, state_home: Path) -> float:
    state_home.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run(
        [ARENA, "submit", "load", TINY, "--json"],
        env={**env, "ARENA_TOKEN": token, "XDG_STATE_HOME": str(state_home)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.monotonic() - started


def _wait_scored(database: str, teams: int) -> tuple[float, dict, int]:
    engine = create_engine(database)
    try:
        while True:
            with engine.connect() as connection:
                counts = dict(
                    connection.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
                )
                results = connection.execute(select(func.count()).select_from(Result)).scalar()
            if counts.get("queued", 0) + counts.get("running", 0) == 0 and sum(counts.values()) == teams:
                return time.monotonic(), counts, results
            time.sleep(0.25)
    finally:
        engine.dispose()


def run_layout(*, workers: int, teams: int, at_once: int) -> dict:
    database = _database()
    with tempfile.TemporaryDirectory(prefix="arena-load-bench-") as tmp:
        work = Path(tmp)
        env, processes = _start(work, database, workers)
        try:
            organiser = json.loads(
                subprocess.run(
                    [ARENA, "admin", "create-organiser", "Load", "--json"],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )["token"]
            client = ArenaClient(env["ARENA_URL"], organiser)
            subprocess.run(
                [ARENA, "challenge", "create", str(_bundle(work / "bundle"))],
                env={**env, "ARENA_TOKEN": organiser},
                check=True,
                capture_output=True,
            )
            tokens = [client.create_team(f"Team {i:03d}", [f"Factory {i % 7}"])["token"] for i in range(teams)]
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=at_once) as pool:
                latencies = list(pool.map(lambda i: _submit(env, tokens[i], work / f"state-{i}"), range(teams)))
            submitted = time.monotonic()
            finished, counts, results = _wait_scored(database, teams)
        finally:
            _stop(env, processes)
            _drop(database)
    drain = finished - started
    return {
        "workers": workers,
        "teams": teams,
        "scored": counts.get("scored", 0),
        "results": results,
        "per_minute": round(60 * teams / drain, 1),
        "drain_s": round(drain, 1),
        "after_last_submit_s": round(finished - submitted, 1),
        "submit_p50_s": round(statistics.median(latencies), 2),
        "submit_p99_s": round(sorted(latencies)[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
    }


def bench_load(teams: int = 40, at_once: int = 8) -> dict:
    one = run_layout(workers=1, teams=teams, at_once=at_once)
    two = run_layout(workers=2, teams=teams, at_once=at_once)
    return {
        "name": "load",
        "teams": teams,
        "at_once": at_once,
        "baseline": "one worker alone",
        "one_worker": one,
        "two_workers": two,
        "throughput_ratio": round(two["per_minute"] / one["per_minute"], 2),
        "drain_ratio": round(two["drain_s"] / one["drain_s"], 2),
        "exactly_once": all(r["scored"] == teams and r["results"] == 2 * teams for r in (one, two)),
    }


def print_load(result: dict) -> None:
    print(
        f"load: {result['teams']} teams submit the tiny model through the CLI, {result['at_once']} at a time; "
        "gunicorn (2) on PostgreSQL"
    )
    print("                          submissions/min   drain s   after last submit s   submit p50 s   p99 s")
    for label, key in (("one worker alone", "one_worker"), ("two workers", "two_workers")):
        r = result[key]
        print(
            f"  {label:<22} {r['per_minute']:>15.1f} {r['drain_s']:>9.1f} {r['after_last_submit_s']:>21.1f}"
            f" {r['submit_p50_s']:>14.2f} {r['submit_p99_s']:>7.2f}"
        )
    print(
        f"  ratio two / one: throughput {result['throughput_ratio']:.2f}x, drain time {result['drain_ratio']:.2f}x; "
        f"every submission scored exactly once: {result['exactly_once']}"
    )
