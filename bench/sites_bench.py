"""Site agents and rootless Podman, against their bare baselines (same run, alternating).

sites: a job through a site agent (heartbeat, claim over HTTP, sbatch with a one-job credential,
`arena node-run` on the node fetching through the agent's relay, predictions posted back through
it, scored centrally) against a bare `sbatch` of the same container run (bench/slurm_bench.py's
baseline). Needs the one-node cluster of scripts/slurm.sh and the Docker engine.

podman: the rootless Podman runner (sandbox/_podman.py) against a bare `podman run` with exactly
the same flags, as the same unprivileged user. Needs podman (scripts/setup.sh, service podman).
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from arena import create_app
from arena.db import upgrade
from arena.models import Submission
from arena.services import sites
from arena.services.submissions import create_submission
from arena.siteagent import AgentConfig, SiteAgent, SiteClient
from arena.siterelay import Relay
from arena.slurm import SlurmCli
from bench.run import prepare
from bench.slurm_bench import _bare_once, _free_port, _serve

CAPABILITIES = {
    "runtime": "docker",
    "max_jobs": 4,
    "partitions": [
        {"name": "arena", "architecture": "amd64", "cpus_per_node": os.cpu_count() or 1, "memory_mb_per_node": 8192}
    ],
}
PODMAN_USER = os.environ.get("ARENA_TEST_PODMAN_USER", "arena-podman")


def _agent_once(platform, agent: SiteAgent, team_id: int, digest: str) -> float:
    made = create_submission(platform, team_id=team_id, slug="bench", image_digest=digest)
    started = time.perf_counter()
    while True:
        agent.step()
        with platform.sessions() as session:
            status = session.scalar(select(Submission.status).where(Submission.id == made["id"]))
        if status in ("scored", "failed"):
            assert status == "scored", status
            return time.perf_counter() - started
        time.sleep(0.05)


def bench_sites(repeats: int = 5, items: int = 1000) -> dict:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="arena-sites-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        port = _free_port()
        app = create_app(
            {
                "home": work / "home",
                "database_url": f"sqlite:///{work}/arena.db",
                "master_key_file": work / "home" / "master.key",
                "executor": "sites",
                "job_root": Path(f"/dev/shm/arena-sites-bench-{os.getpid()}"),
                "team_max_running": 100,
            }
        )
        platform = app.extensions["arena"]
        upgrade(platform.engine)
        server = _serve(app, port)
        team_id, image_id, digest, inputs = prepare(platform, work, items)
        _view, token = sites.create_site(platform, name="bench-site")
        relay = Relay(upstream=f"http://127.0.0.1:{port}")
        relay.start()
        config = AgentConfig(
            url=f"http://127.0.0.1:{port}",
            capabilities=CAPABILITIES,
            relay_url=f"http://127.0.0.1:{relay.port}",
            node_command=_arena_command(),
            node_env={"ARENA_NODE_JOB_ROOT": f"/dev/shm/arena-sites-bench-node-{os.getpid()}"},
            log_dir=str(work),
            poll_s=0.05,
        )
        agent = SiteAgent(config, client=SiteClient(config.url, token), slurm=SlurmCli(), relay=relay)
        agent.start()
        _bare_once(image_id, inputs, work)  # warm-up both paths
        _agent_once(platform, agent, team_id, digest)
        bare, arena = [], []
        for _ in range(repeats):
            bare.append(_bare_once(image_id, inputs, work))
            arena.append(_agent_once(platform, agent, team_id, digest))
        relay.close()
        server.shutdown()
        platform.engine.dispose()
        shutil.rmtree(platform.settings.job_root, ignore_errors=True)
    b, a = statistics.median(bare), statistics.median(arena)
    return {
        "name": "site_agent",
        "items": items,
        "repeats": repeats,
        "baseline": "bare sbatch of the same docker run",
        "baseline_median_s": round(b, 3),
        "arena_median_s": round(a, 3),
        "ratio": round(a / b, 3),
        "overhead_s": round(a - b, 3),
        "goal": "<= 1.2",
    }


def _arena_command() -> str:
    import sys

    return str(Path(sys.executable).parent / "arena")


def print_sites(result: dict) -> None:
    print(
        f"sites: one evaluation through a site agent and Slurm, trivial model, {result['items']:,} items, "
        f"median of {result['repeats']} each, alternating"
    )
    print(f"  bare sbatch of the same docker run               {result['baseline_median_s']:.3f} s")
    print(f"  arena (claim, sbatch, node-run via the relay)    {result['arena_median_s']:.3f} s")
    print(
        f"  ratio arena / bare                               {result['ratio']:.2f}x "
        f"(+{result['overhead_s']:.2f} s a job; goal {result['goal']})"
    )


# -- rootless Podman ---------------------------------------------------------------------------------
def bench_podman(repeats: int = 5, items: int = 1000) -> dict:
    from bench.run import trivial_image, write_bundle
    from sandbox import JobFolder, Limits, RunSpec, make_runner

    user = PODMAN_USER if os.geteuid() == 0 else None
    runner = make_runner("podman", user=user, instance="bench")
    with tempfile.TemporaryDirectory(prefix="arena-podman-bench-") as tmp:
        work = Path(tmp)
        image_id = trivial_image(work)
        if not runner.has_image(image_id):
            subprocess.run(["docker", "save", "-o", str(work / "image.tar"), image_id], check=True)
            runner.ensure_image(image_id=image_id, tarball=work / "image.tar")
        write_bundle(work / "bundle", items)
        root = Path(f"/dev/shm/arena-podman-bench-{os.getpid()}")

        def once(bare: bool) -> float:
            job = f"job-{time.monotonic_ns():016x}"[-20:]
            folder = JobFolder.create(
                root=root, job_id=job, size_bytes=64 << 20, use_tmpfs=os.geteuid() == 0, owner=runner.folder_owner()
            )
            try:
                shutil.copy(work / "bundle" / "inputs.jsonl", folder.input / "inputs.jsonl")
                os.chmod(folder.input / "inputs.jsonl", 0o644)
                spec = RunSpec(
                    job_id=job,
                    image_id=image_id,
                    input_dir=folder.input,
                    output_dir=folder.output,
                    limits=Limits(time_limit_s=60, memory_mb=512, pids=64),
                )
                started = time.perf_counter()
                if bare:  # the container id goes where the podman user may write it, as the runner does
                    with tempfile.TemporaryDirectory() as cids:
                        os.chmod(cids, 0o777)
                        subprocess.run(
                            runner._argv(*runner.run_args(spec, ([], {}), Path(cids) / "cid")),
                            check=True,
                            capture_output=True,
                            cwd="/",
                            env=runner._env(),
                        )
                else:
                    assert runner.run(spec).exit_code == 0
                return time.perf_counter() - started
            finally:
                folder.wipe()

        once(True), once(False)  # warm-up
        bare, arena = [], []
        for _ in range(repeats):
            bare.append(once(True))
            arena.append(once(False))
        shutil.rmtree(root, ignore_errors=True)
    b, a = statistics.median(bare), statistics.median(arena)
    return {
        "name": "podman_rootless",
        "items": items,
        "repeats": repeats,
        "baseline": "bare podman run, same flags, same user",
        "baseline_median_s": round(b, 3),
        "arena_median_s": round(a, 3),
        "ratio": round(a / b, 3),
        "goal": "<= 1.3",
    }


def print_podman(result: dict) -> None:
    print(
        f"podman: one rootless container run, trivial model, {result['items']:,} items, median of "
        f"{result['repeats']} each, alternating"
    )
    print(f"  bare podman run (same flags, same user)   {result['baseline_median_s']:.3f} s")
    print(f"  arena's Podman runner                     {result['arena_median_s']:.3f} s")
    print(f"  ratio arena / bare                        {result['ratio']:.2f}x (goal {result['goal']})")
