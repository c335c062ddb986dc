"""Under load, every submission is scored exactly once (issue 22).

The production layout (PostgreSQL, the API under gunicorn with two processes, two `arena worker`
processes, the real engine): 40 teams each submit the tiny example model through the CLI, 8 at a
time, while one worker is paused (SIGSTOP) past its lease with a job running, then resumed. Its
lapsed job is re-queued once by the other worker; when it wakes, it finds its lease lost, stops
its container and drops its verdict. Every submission ends scored, with one result per split and
one logged result, and nobody sees a 5xx."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import arena, make_bundle, serve_arena
from sqlalchemy import create_engine, func, select, text

from arena.client import ArenaClient
from arena.models import Job, LogEntry, Result, Submission
from arena.services.leases import MAX_STRETCH

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

TEAMS, AT_ONCE, LEASE_S = 40, 8, 4
TAKE_OVER_WAIT_S = 120  # a liveness bound, not a measure: the assertion below says what must happen
TINY = "arena-example/tiny"


@pytest.fixture(scope="module")
def tiny_image(docker_engine):
    try:
        docker_engine.images.get(TINY)
    except Exception:  # noqa: BLE001 - any failure: the image is missing
        pytest.fail(f"{TINY} is missing: run scripts/setup.sh (it needs Debian's busybox-static)")
    return TINY


def make_teams(server: dict, organiser: str, count: int) -> list[str]:
    client = ArenaClient(server["ARENA_URL"], organiser)
    return [client.create_team(f"Load team {i:02d}", [f"Factory {i % 7}"])["token"] for i in range(count)]


def submit(server: dict, token: str, state_home: Path) -> tuple[float, int, str]:
    """One team's `arena submit`, from a home of its own (its resumable-upload state)."""
    state_home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = arena(
        {**server, "XDG_STATE_HOME": str(state_home)}, "submit", "load", TINY, "--json", token=token, check=False
    )
    return time.monotonic() - started, done.returncode, done.stderr


def pause_a_worker_past_its_lease(engine, pid: int, stop: threading.Event) -> list[str]:
    """Wait until worker `pid` runs a job, then stop it past the longest lease its keeper may ask
    for (a loaded machine stretches leases up to MAX_STRETCH of them) and until another worker has
    taken its jobs over (the other worker sweeps between its own jobs, so on a busy machine that
    may come some seconds after the lease ends; TAKE_OVER_WAIT_S bounds the wait), and let it go on."""
    while not stop.is_set():
        with engine.connect() as connection:
            running = (
                connection.execute(select(Job.id).where(Job.status == "running", Job.worker.like(f"%:{pid}:%")))
                .scalars()
                .all()
            )
        if running:
            os.kill(pid, signal.SIGSTOP)
            if _in_a_transaction(engine, pid):
                # Stopped holding a row lock (a lease renewal between its update and its commit):
                # nobody could take the job over until it resumes. Let it finish; stop it again later.
                os.kill(pid, signal.SIGCONT)
                time.sleep(0.05)
                continue
            try:
                time.sleep((MAX_STRETCH + 1) * LEASE_S)
                give_up = time.monotonic() + TAKE_OVER_WAIT_S
                while time.monotonic() < give_up and not _taken_over(engine, running):
                    time.sleep(0.5)
            finally:
                os.kill(pid, signal.SIGCONT)
            return list(running)
        time.sleep(0.2)
    return []


def _in_a_transaction(engine, pid: int) -> bool:
    """Whether any of process `pid`'s PostgreSQL sessions is inside a transaction (its sockets to
    port 5432, found through /proc, matched to pg_stat_activity by client port)."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in sockets and int(remote.rsplit(":", 1)[1], 16) == 5432:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    if not ports:
        return False
    with engine.connect() as connection:
        busy = connection.execute(
            text("select count(*) from pg_stat_activity where client_port = any(:ports) and state <> 'idle'"),
            {"ports": ports},
        ).scalar()
    return bool(busy)


def _taken_over(engine, job_ids: list[str]) -> bool:
    with engine.connect() as connection:
        lapsed = connection.execute(
            select(func.count()).select_from(Job).where(Job.id.in_(job_ids), Job.outcome == "lease_expired")
        ).scalar()
    return lapsed == len(job_ids)


def wait_until_done(engine, deadline_s: float) -> dict[str, int]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            counts = dict(connection.execute(select(Submission.status, func.count()).group_by(Submission.status)).all())
        if sum(counts.get(s, 0) for s in ("queued", "running")) == 0 and sum(counts.values()) == TEAMS:
            return counts
        time.sleep(1)
    return counts


def test_every_submission_is_scored_exactly_once_under_load(tiny_image, postgres_database, tmp_path, request):
    engine = create_engine(postgres_database)
    request.addfinalizer(engine.dispose)  # also when an assertion fails: no connection left to the collector
    env = {"ARENA_DATABASE_URL": postgres_database, "ARENA_EMBEDDED_WORKER": "0", "ARENA_LEASE_SECONDS": str(LEASE_S)}
    home = tmp_path / "home"
    home.mkdir()
    bundle = make_bundle(
        tmp_path / "bundle",
        slug="load",
        n=20,
        extra={
            "daily_quota": 10,
            "max_pending": 5,
            "limits": {"time_limit_seconds": 60, "memory_mb": 128, "cpus": 0.5, "pids": 32},
        },
    )
    try:
        with serve_arena(home, env, serve_args=("--workers", "2"), workers=2) as server:
            organiser = json.loads(arena(server, "admin", "create-organiser", "Load", "--json").stdout)["token"]
            arena(server, "challenge", "create", str(bundle), token=organiser)
            tokens = make_teams(server, organiser, TEAMS)
            stop = threading.Event()
            pid = int(server["ARENA_TEST_WORKER_PIDS"].split(",")[0])
            with ThreadPoolExecutor(max_workers=1) as pauser:
                paused = pauser.submit(pause_a_worker_past_its_lease, engine, pid, stop)
                with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
                    submits = list(pool.map(lambda i: submit(server, tokens[i], tmp_path / f"state-{i}"), range(TEAMS)))
                refused = [(code, err) for _, code, err in submits if code != 0]
                assert refused == [], refused[:3]  # before waiting for submissions that were never made
                final = wait_until_done(engine, deadline_s=600)
                stop.set()
                taken_over = paused.result()
    finally:
        served = (home / "serve.log").read_text()
    assert final == {"scored": TEAMS}, final
    assert taken_over, "the paused worker never held a running job"
    with engine.connect() as connection:
        per_split = connection.execute(
            select(Result.submission_id, Result.split, func.count()).group_by(Result.submission_id, Result.split)
        ).all()
        logged = connection.execute(select(LogEntry.body).where(LogEntry.kind == "result")).scalars().all()
        lapsed = connection.execute(select(Job.id).where(Job.outcome == "lease_expired")).scalars().all()
        live = connection.execute(
            select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
        ).scalar()
    assert len(per_split) == 2 * TEAMS and {count for *_, count in per_split} == {1}
    logged_for = [json.loads(body)["data"]["submission"] for body in logged]
    assert len(logged_for) == len(set(logged_for)) == TEAMS  # one result entry per submission, none twice
    assert set(taken_over) <= set(lapsed), "the paused worker's job was not taken over after its lease"
    assert live == 0
    for bad in ("Traceback", "Internal Server Error", "worker loop error", "error outside the evaluation"):
        assert bad not in served, f"{bad!r} in the server and worker logs"
