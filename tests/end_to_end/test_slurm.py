"""Evaluations through a real one-node Slurm cluster (scripts/slurm.sh): `arena serve` dispatching
with sbatch, `arena node-run` on the node running the real container, scoring back on the
platform. Failures: a cancelled Slurm job is re-queued and finished once; slurmd killed and
restarted loses nothing; a node credential replayed after its job ended is refused."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from conftest import BASE_IMAGE
from helpers import arena, serve_arena

pytestmark = [pytest.mark.docker, pytest.mark.slurm]

BUNDLE = Path(__file__).resolve().parents[2] / "examples" / "challenges" / "gpu-faults"
GOOD = (BUNDLE.parent.parent / "models" / "good" / "predict.py").read_text()


@pytest.fixture(scope="module")
def slow_image(docker_engine, tmp_path_factory):
    """The good model, after sleeping long enough to be caught running."""
    folder = tmp_path_factory.mktemp("slow")
    (folder / "predict.py").write_text("import time\ntime.sleep(6)\n" + GOOD)
    (folder / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    subprocess.run(
        ["docker", "build", "-q", "-t", "arena-test/slow:latest", str(folder)], check=True, capture_output=True
    )
    return "arena-test/slow:latest"


@pytest.fixture(scope="module")
def server(docker_engine, slurm_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("slurm-home")
    captured = home / "batch-scripts"
    captured.mkdir()
    wrapper = home / "sbatch-wrapper.sh"  # a seam: keeps a copy of each batch script, then real sbatch
    wrapper.write_text(
        f'#!/bin/sh\nscript=$(mktemp {captured}/job.XXXXXX)\ncat > "$script"\nexec sbatch "$@" < "$script"\n'
    )
    env = {
        "ARENA_EXECUTOR": "slurm",
        "ARENA_SLURM_POLL_SECONDS": "1",
        "ARENA_SLURM_SBATCH": f"sh {wrapper}",
        "ARENA_SLURM_LOG_DIR": str(home),
        "ARENA_SLURM_MARGIN_SECONDS": "60",
    }
    with serve_arena(home, env) as served:
        organiser = json.loads(arena(served, "admin", "create-organiser", "Slurm Org", "--json").stdout)["token"]
        arena(served, "challenge", "create", str(BUNDLE), token=organiser)
        team = json.loads(arena(served, "team", "create", "Node Team", "--json", token=organiser).stdout)["token"]
        yield {**served, "organiser": organiser, "team": team, "captured": captured}


def submit(server, image: str, *, wait: bool) -> dict:
    args = ["submit", "gpu-faults", image, "--json"] + (["--wait"] if wait else [])
    return json.loads(arena(server, *args, token=server["team"]).stdout)


def attempts(server, submission_id: str) -> list[dict]:
    shown = json.loads(arena(server, "status", submission_id, "--json", token=server["organiser"]).stdout)
    return shown["attempts"]


def slurm_state(job_id: str) -> str:
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%T", "-j", job_id], capture_output=True, text=True).stdout
    return out.strip()


def running_slurm_job(server, submission_id: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = [a for a in attempts(server, submission_id) if a["status"] == "running" and a["external_id"]]
        if live and slurm_state(live[0]["external_id"]) == "RUNNING":
            return live[0]["external_id"]
        time.sleep(0.5)
    pytest.fail(f"submission {submission_id} never ran in Slurm: {attempts(server, submission_id)}")


def _poll(server, submission_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = json.loads(arena(server, "status", submission_id, "--json", token=server["organiser"]).stdout)
        if shown["status"] in ("scored", "failed"):
            return shown
        time.sleep(1)
    pytest.fail(f"submission {submission_id} did not finish")


def test_an_evaluation_runs_through_sbatch_and_is_scored_centrally(server):
    done = submit(server, "arena-example/good", wait=True)
    assert done["status"] == "scored" and 0.85 <= done["score"] <= 1.0
    [attempt] = attempts(server, done["id"])
    assert attempt["executor"] == "slurm" and attempt["external_id"].isdigit()
    assert slurm_state(attempt["external_id"]) == "COMPLETED"
    script = next(p for p in server["captured"].iterdir() if f"ARENA_NODE_JOB={attempt['job']}" in p.read_text())
    text = script.read_text()
    assert "node-run" in text and "MASTER_KEY" not in text and "labels" not in text


def test_a_cancelled_slurm_job_is_requeued_and_finished_once(server, slow_image):
    made = submit(server, slow_image, wait=False)
    slurm_id = running_slurm_job(server, made["id"])
    subprocess.run(["scancel", slurm_id], check=True)
    shown = _poll(server, made["id"])
    assert shown["status"] == "scored"
    tries = attempts(server, made["id"])
    assert [(a["attempt"], a["status"]) for a in tries] == [(1, "failed"), (2, "done")]
    assert "CANCELLED" in tries[0]["error"] and tries[0]["outcome"] == "infrastructure"
    board = json.loads(arena(server, "leaderboard", "gpu-faults", "--json").stdout)
    assert sum(1 for e in board["entries"] if e["submission_id"] == made["id"]) <= 1


def test_slurmd_killed_and_restarted_loses_nothing(server, slow_image):
    made = submit(server, slow_image, wait=False)
    slurm_id = running_slurm_job(server, made["id"])
    node_log = Path(server["ARENA_HOME"]) / f"arena-{slurm_id}.out"
    deadline = time.monotonic() + 60
    while "run for gpu-faults" not in (node_log.read_text() if node_log.exists() else ""):
        assert time.monotonic() < deadline, "node-run never started"
        time.sleep(0.2)
    subprocess.run(["pkill", "-9", "-x", "slurmd"], check=True)
    time.sleep(2)
    subprocess.run(["slurmd"], check=True)
    shown = _poll(server, made["id"])
    assert shown["status"] == "scored"
    assert [a["status"] for a in attempts(server, made["id"])][-1] == "done"


def test_a_node_credential_replayed_after_its_job_ended_is_refused(server):
    done = submit(server, "arena-example/good", wait=True)
    [attempt] = attempts(server, done["id"])
    script = next(p for p in server["captured"].iterdir() if f"ARENA_NODE_JOB={attempt['job']}" in p.read_text())
    token = re.search(r"ARENA_NODE_TOKEN=(\S+)", script.read_text()).group(1).strip("'")
    base = f"{server['ARENA_URL']}/api/node/jobs/{attempt['job']}"
    headers = {"Authorization": f"Bearer {token}"}
    for answer in (
        requests.get(base, headers=headers, timeout=10),
        requests.get(base + "/inputs", headers=headers, timeout=10),
    ):
        assert answer.status_code == 401 and "not valid" in answer.json()["error"]["message"]
    # A repeated result post is idempotent: told it is a repeat, it records nothing.
    repeat = requests.post(base + "/result", headers=headers, data={"verdict": "exited", "exit_code": "1"}, timeout=10)
    assert repeat.status_code == 200 and repeat.json() == {"job": attempt["job"], "recorded": False, "repeat": True}
    assert [a["status"] for a in attempts(server, done["id"])] == ["done"]


def test_assets_and_interactive_challenges_run_on_the_node_too(server, tmp_path):
    """The node fetches a job's assets as a tar and drives an interactive model itself; the
    answers and the protocol failures come back to be scored here."""
    from test_assets_end_to_end import IMAGE_MODEL, image_bundle

    model = tmp_path / "model"
    model.mkdir()
    (model / "predict.py").write_text(IMAGE_MODEL)
    (model / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    chat = BUNDLE.parent.parent / "models" / "chat"
    for tag, folder, mode in (
        ("arena-test/slurm-scans", model, None),
        ("arena-test/slurm-chat", chat, "good"),
        ("arena-test/slurm-chat-garbage", chat, "garbage"),
    ):
        args = ["--build-arg", f"BASE={BASE_IMAGE}"] + (["--build-arg", f"MODE={mode}"] if mode else [])
        subprocess.run(["docker", "build", "-q", *args, "-t", tag, str(folder)], check=True, capture_output=True)
    arena(server, "challenge", "create", str(image_bundle(tmp_path / "scans", "slurm", n=6)), token=server["organiser"])
    arena(server, "challenge", "create", str(BUNDLE.parent / "chat-basics"), token=server["organiser"])

    def run(slug, image):
        done = arena(server, "submit", slug, image, "--wait", "--json", token=server["team"], check=False)
        shown = json.loads(done.stdout)
        assert attempts(server, shown["id"])[-1]["executor"] == "slurm"
        return shown

    assert run("scans", "arena-test/slurm-scans")["status"] == "scored"
    chatted = run("chat-basics", "arena-test/slurm-chat")
    assert chatted["status"] == "scored", chatted
    garbage = run("chat-basics", "arena-test/slurm-chat-garbage")
    assert (garbage["status"], garbage["failure_reason"]) == ("failed", "invalid_output")
    assert "not an OpenAI chat completion" in garbage["failure_detail"]
