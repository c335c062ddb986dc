"""Two site agents, as separate processes, against the one-node Slurm cluster (scripts/slurm.sh)
and a central `arena serve` with ARENA_EXECUTOR=sites: an amd64 site running Docker and an arm64
site running rootless Podman. Jobs go only where they fit; a job no site can run waits with its
reason; a site agent killed with SIGKILL loses nothing and counts nothing against the team."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from conftest import BASE_IMAGE
from helpers import ARENA, arena, free_port, serve_arena

pytestmark = [pytest.mark.docker, pytest.mark.slurm, pytest.mark.podman]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLE = EXAMPLES / "challenges" / "gpu-faults"
GOOD = (EXAMPLES / "models" / "good" / "predict.py").read_text()
PARTITION = {"name": "arena", "cpus_per_node": 2, "memory_mb_per_node": 8192}
SITES = {
    "x86-docker": {"runtime": "docker", "max_jobs": 4, "partitions": [{**PARTITION, "architecture": "amd64"}]},
    "arm-podman": {"runtime": "podman", "max_jobs": 4, "partitions": [{**PARTITION, "architecture": "arm64"}]},
}


def _bundle(tmp: Path, slug: str, **changes) -> Path:
    folder = tmp / slug
    shutil.copytree(BUNDLE, folder)
    doc = yaml.safe_load((folder / "challenge.yaml").read_text())
    doc["slug"], doc["title"] = slug, f"{doc['title']} ({slug})"  # titles are unique too
    for key, value in changes.items():
        if key == "gpus":
            doc["limits"]["gpus"] = value
        else:
            doc[key] = value
    (folder / "challenge.yaml").write_text(yaml.safe_dump(doc))
    return folder


@pytest.fixture(scope="module")
def images(docker_engine, tmp_path_factory) -> dict[str, str]:
    """The tiny model for amd64, the same labelled arm64 (its busybox is amd64, so this machine
    runs it: routing and intake are what is checked), and a slow amd64 model."""
    folder = tmp_path_factory.mktemp("site-images")
    tiny = folder / "tiny"
    shutil.copytree(EXAMPLES / "models" / "tiny", tiny)
    shutil.copy("/bin/busybox", tiny / "busybox")
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--no-cache",
            "--platform",
            "linux/arm64",
            "-t",
            "arena-test/tiny-arm64:latest",
            str(tiny),
        ],
        check=True,
        capture_output=True,
    )
    slow = folder / "slow"
    slow.mkdir()
    (slow / "predict.py").write_text("import time\ntime.sleep(8)\n" + GOOD)
    (slow / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    subprocess.run(
        ["docker", "build", "-q", "-t", "arena-test/site-slow:latest", str(slow)], check=True, capture_output=True
    )
    return {"amd64": "arena-example/tiny", "arm64": "arena-test/tiny-arm64", "slow": "arena-test/site-slow"}


@pytest.fixture(scope="module")
def central(slurm_cluster, podman_runner_user, images, tmp_path_factory):
    home = tmp_path_factory.mktemp("sites-home")
    env = {"ARENA_EXECUTOR": "sites", "ARENA_LEASE_SECONDS": "8", "ARENA_SLURM_MARGIN_SECONDS": "60"}
    with serve_arena(home, env) as served:
        organiser = json.loads(arena(served, "admin", "create-organiser", "Site Org", "--json").stdout)["token"]
        arena(served, "challenge", "create", str(BUNDLE), token=organiser)
        arena(
            served,
            "challenge",
            "create",
            str(_bundle(home, "faults-any-arch", platforms=["linux/amd64", "linux/arm64"])),
            token=organiser,
        )
        arena(served, "challenge", "create", str(_bundle(home, "faults-on-gpu", gpus=1)), token=organiser)
        team = json.loads(arena(served, "team", "create", "Site Team", "--json", token=organiser).stdout)["token"]
        yield {**served, "organiser": organiser, "team": team}


@pytest.fixture(scope="module")
def agents(central, podman_runner_user, tmp_path_factory):
    running = Agents(central, tmp_path_factory.mktemp("agents"), podman_runner_user)
    for name in SITES:
        running.start(name)
    yield running
    running.stop_all()


class Agents:
    """The site agents as processes: `arena site-agent`, each with its own credential and relay."""

    def __init__(self, served: dict, home: Path, podman_user: str | None) -> None:
        self.served, self.home, self.podman_user = served, home, podman_user
        self.tokens: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        if name not in self.tokens:
            made = json.loads(arena(self.served, "admin", "create-site", name, "--json").stdout)
            self.tokens[name] = made["token"]
        folder = self.home / name
        folder.mkdir(exist_ok=True)
        (folder / "capabilities.yaml").write_text(yaml.safe_dump(SITES[name]))
        env = dict(self.served)
        env["ARENA_SITE_TOKEN"] = self.tokens[name]
        args = [
            ARENA,
            "site-agent",
            "--capabilities",
            str(folder / "capabilities.yaml"),
            "--poll",
            "1",
            "--relay-listen",
            f"127.0.0.1:{free_port()}",
            "--log-dir",
            str(folder),
            "--node-env",
            f"ARENA_NODE_JOB_ROOT=/dev/shm/arena-site-{name}",
        ]
        if SITES[name]["runtime"] == "podman" and self.podman_user:
            args += ["--node-env", f"ARENA_PODMAN_USER={self.podman_user}"]
        with (folder / "agent.log").open("a") as log:
            self.processes[name] = subprocess.Popen(args, env=env, stdout=log, stderr=log)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def submit(central, slug: str, image: str) -> dict:
    return json.loads(arena(central, "submit", slug, image, "--json", token=central["team"]).stdout)


def shown(central, submission_id: str) -> dict:
    return json.loads(arena(central, "status", submission_id, "--json", token=central["organiser"]).stdout)


def finished(central, submission_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = shown(central, submission_id)
        if now["status"] in ("scored", "failed"):
            return now
        time.sleep(1)
    pytest.fail(f"submission {submission_id} did not finish: {shown(central, submission_id)}")


def test_jobs_go_only_to_a_site_whose_capabilities_fit(central, agents, images):
    on_x86 = submit(central, "gpu-faults", images["amd64"])
    on_arm = submit(central, "faults-any-arch", images["arm64"])
    for made, site in ((on_x86, "x86-docker"), (on_arm, "arm-podman")):
        done = finished(central, made["id"])
        assert done["status"] == "scored", done
        [attempt] = done["attempts"]
        assert (attempt["executor"], attempt["site"]) == ("site", site), attempt
        assert attempt["external_id"].isdigit()
    # A challenge that accepts only linux/amd64 refuses the arm64 image at intake, saying why.
    refused = arena(central, "submit", "gpu-faults", images["arm64"], token=central["team"], check=False)
    assert refused.returncode != 0 and "linux/arm64" in refused.stderr and "linux/amd64" in refused.stderr


def test_a_job_no_site_can_run_waits_with_its_reason(central, agents, images):
    made = submit(central, "faults-on-gpu", images["amd64"])
    time.sleep(4)  # both agents have polled a few times meanwhile
    answer = requests.get(
        f"{central['ARENA_URL']}/api/challenges/faults-on-gpu/queue",
        timeout=10,
        headers={"Authorization": f"Bearer {central['organiser']}"},
    ).json()
    [job] = answer["jobs"]
    assert (job["submission"], job["status"]) == (made["id"], "queued")
    assert job["waiting_reason"] == "no site with linux/amd64 has 1 GPU(s) on one node"
    assert shown(central, made["id"])["status"] == "queued"


def test_a_killed_agent_loses_nothing_and_counts_nothing(central, agents, images):
    made = submit(central, "gpu-faults", images["slow"])
    deadline = time.monotonic() + 120
    while not any(a["status"] == "running" and a["external_id"] for a in shown(central, made["id"])["attempts"]):
        assert time.monotonic() < deadline, shown(central, made["id"])
        time.sleep(0.5)
    agents.kill("x86-docker")  # kill -9: no goodbye, its relay gone with it
    deadline = time.monotonic() + 90
    while shown(central, made["id"])["attempts"][0]["status"] == "running":
        assert time.monotonic() < deadline, "the lost agent's job was never taken back"
        time.sleep(1)
    agents.start("x86-docker")
    done = finished(central, made["id"])
    assert done["status"] == "scored", done
    tries = [(a["attempt"], a["status"], a["outcome"]) for a in done["attempts"]]
    assert tries[0][:2] == (1, "failed") and tries[0][2] in ("lease_expired", "infrastructure"), tries
    assert tries[-1][1] == "done" and len(tries) == 2, tries
    # One submission, scored once: a quota counts submissions, and the lost attempt was the platform's.
    assert done["failure_reason"] is None and done["score"] is not None
