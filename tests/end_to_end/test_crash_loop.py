"""Kill -9 the server (API and worker in one process) at random moments, twenty times, while
submissions arrive and run on the real engine; then count. Every submission must be there,
finished exactly once, with exactly one result: none lost, none duplicated."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from helpers import ARENA, arena, free_port
from sqlalchemy import create_engine, text

from arena.config import load_settings

pytestmark = pytest.mark.docker
ROUNDS = 20
PER_ROUND = 2
BUNDLE = Path(__file__).resolve().parents[2] / "examples" / "challenges" / "gpu-faults"


def start(env: dict, log) -> subprocess.Popen:
    process = subprocess.Popen([ARENA, "serve", "--port", env["PORT"]], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{env['ARENA_URL']}/api/health", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    process.wait(timeout=30)  # reaped: no process handle left open for a later test to trip on
    pytest.fail("arena serve did not come up")


def post(env: dict, token: str, digest: str, key: str) -> str | None:
    try:
        answer = requests.post(
            f"{env['ARENA_URL']}/api/challenges/crash/submissions",
            json={"image_digest": digest},
            timeout=5,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )
    except requests.RequestException:
        return None  # killed mid-request: retried with the same key later
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["id"]


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(docker_engine, tmp_path):
    rng = random.Random(20261125)
    home = tmp_path / "home"
    tag = secrets.token_hex(4)
    port = str(free_port())
    env = {
        **os.environ,
        "ARENA_HOME": str(home),
        "PORT": port,
        "ARENA_URL": f"http://127.0.0.1:{port}",
        "ARENA_LEASE_SECONDS": "2",
        "ARENA_MAX_ATTEMPTS": "50",
        "ARENA_JOB_ROOT": f"/dev/shm/arena-crash-{tag}",
        "ARENA_SCRATCH_DIR": f"/dev/shm/arena-crash-{tag}-scratch",
    }
    env.pop("ARENA_TOKEN", None)
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLE, bundle)
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config.update(slug="crash", daily_quota=1000, max_pending=100)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    home.mkdir()
    log = (home / "serve.log").open("a")
    server = None
    try:
        server = start(env, log)
        organiser = json.loads(arena(env, "admin", "create-organiser", "Crash Org", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(bundle), token=organiser)
        team = json.loads(arena(env, "team", "create", "Survivors", "--json", token=organiser).stdout)["token"]
        first = json.loads(arena(env, "submit", "crash", "arena-example/good", "--json", token=team).stdout)
        keys = {"first": first["id"]}
        for round_ in range(ROUNDS):
            if round_:
                server = start(env, log)
            for k in range(PER_ROUND):
                key = f"r{round_}-{k}"
                keys[key] = post(env, team, first["image_digest"], key)
            time.sleep(rng.uniform(0.0, 1.5))
            os.kill(server.pid, signal.SIGKILL)
            server.wait()

        server = start(env, log)
        for key, found in list(keys.items()):
            again = post(env, team, first["image_digest"], key) if key != "first" else found
            assert found is None or again == found, f"key {key} made two submissions"
            keys[key] = again
        ids = list(set(keys.values()))
        assert len(ids) == len(keys) == ROUNDS * PER_ROUND + 1

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            listed = requests.get(
                f"{env['ARENA_URL']}/api/submissions?challenge=crash",
                timeout=5,
                headers={"Authorization": f"Bearer {team}"},
            ).json()["submissions"]
            by_id = {row["id"]: row["status"] for row in listed}
            states = [by_id.get(i) for i in ids]
            if all(s in ("scored", "failed") for s in states):
                break
            time.sleep(1)
        failed = [
            requests.get(
                f"{env['ARENA_URL']}/api/submissions/{i}", timeout=5, headers={"Authorization": f"Bearer {organiser}"}
            ).json()
            for i, s in zip(ids, states, strict=False)
            if s != "scored"
        ]
        assert states.count("scored") == len(ids), failed
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run([ARENA, "worker", "--once"], env=env, check=True, capture_output=True, timeout=60)
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        log.close()
        shutil.rmtree(env["ARENA_JOB_ROOT"], ignore_errors=True)
        shutil.rmtree(env["ARENA_SCRATCH_DIR"], ignore_errors=True)

    engine = create_engine(f"sqlite:///{home}/arena.db")
    with engine.connect() as connection:
        per_split = connection.execute(
            text("SELECT submission_id, split, count(*) FROM results GROUP BY submission_id, split")
        ).all()
        running = connection.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar()
        total = connection.execute(text("SELECT count(*) FROM submissions")).scalar()
        rerun = connection.execute(text("SELECT count(*) FROM jobs WHERE outcome = 'lease_expired'")).scalar()
    engine.dispose()
    print(f"{ROUNDS} kills; {rerun} job(s) were cut off mid-run and ran again")
    assert total == len(ids), "a submission was lost or made twice"
    assert {(sub, split) for sub, split, _n in per_split} == {(i, s) for i in ids for s in ("public", "private")}
    assert {n for _sub, _split, n in per_split} == {1}  # one result per split: none duplicated
    assert running == 0
    instance = load_settings(environ=env).instance_id
    assert docker_engine.containers.list(all=True, filters={"label": f"arena.instance={instance}"}) == []
