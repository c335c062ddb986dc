"""Dispatch through Arena's Slurm executor against a bare `sbatch` of the same container run.

Arena: submission queued → claimed → sbatch (with a one-job credential) → `arena node-run` on the
node fetches the spec, the image check and the decrypted inputs → the container → predictions
posted back → scored and recorded. Baseline: `sbatch --wait` of a script that runs the same image
with the same sandbox flags on the same inputs (plain files on disk), nothing else. Same cluster,
same run, alternating. Needs the one-node cluster of scripts/slurm.sh and the Docker engine.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import select

from arena import create_app
from arena.db import upgrade
from arena.evaluation.executors.slurm import SlurmExecutor
from arena.models import Submission
from arena.services.submissions import create_submission
from bench.run import bare_run, prepare


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app, port: int):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _arena_once(platform, executor: SlurmExecutor, team_id: int, digest: str) -> float:
    made = create_submission(platform, team_id=team_id, slug="bench", image_digest=digest)
    started = time.perf_counter()
    executor.dispatch_one()
    while True:
        executor.follow()
        with platform.sessions() as session:
            status = session.scalar(select(Submission.status).where(Submission.id == made["id"]))
        if status in ("scored", "failed"):
            assert status == "scored", status
            return time.perf_counter() - started
        time.sleep(0.05)


def _bare_once(image_id: str, inputs: Path, work: Path) -> float:
    """sbatch of exactly bare_run's docker command; done when the job has written its marker file
    (polled as often as Arena's path is: sbatch --wait's own polling would add seconds)."""
    marker = work / f"bare-done-{time.monotonic_ns()}"
    script = work / "bare.sh"
    script.write_text(
        "#!/bin/sh\n"
        + shlex.join(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); "
                "from bench.run import bare_run; from pathlib import Path; "
                f"bare_run({image_id!r}, Path({str(inputs)!r}), Path({str(work)!r})); Path({str(marker)!r}).touch()",
            ]
        )
        + "\n"
    )
    started = time.perf_counter()
    subprocess.run(
        ["sbatch", "--quiet", f"--output={work}/bare-%j.out", "--cpus-per-task=1", "--mem=1024M", str(script)],
        check=True,
    )
    while not marker.exists():
        time.sleep(0.05)
    return time.perf_counter() - started


def bench_slurm(repeats: int = 5, items: int = 1000) -> dict:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="arena-slurm-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        port = _free_port()
        app = create_app(
            {
                "node_url": f"http://127.0.0.1:{port}",
                "home": work / "home",
                "database_url": f"sqlite:///{work}/arena.db",
                "master_key_file": work / "home" / "master.key",
                "executor": "slurm",
                "job_root": Path(f"/dev/shm/arena-slurm-bench-{os.getpid()}"),
                "slurm_log_dir": str(work),
                "team_max_running": 100,
            }
        )
        platform = app.extensions["arena"]
        upgrade(platform.engine)
        server = _serve(app, port)
        team_id, image_id, digest, inputs = prepare(platform, work, items)
        executor = SlurmExecutor(platform, name="bench")
        _bare_once(image_id, inputs, work)  # warm-up both paths
        _arena_once(platform, executor, team_id, digest)
        bare, arena = [], []
        for _ in range(repeats):
            bare.append(_bare_once(image_id, inputs, work))
            arena.append(_arena_once(platform, executor, team_id, digest))
        local = statistics.median(bare_run(image_id, inputs, work) for _ in range(3))
        server.shutdown()
        platform.engine.dispose()
        shutil.rmtree(platform.settings.job_root, ignore_errors=True)
    b, a = statistics.median(bare), statistics.median(arena)
    return {
        "name": "slurm_dispatch",
        "items": items,
        "repeats": repeats,
        "baseline": "bare sbatch of the same docker run",
        "baseline_median_s": round(b, 3),
        "arena_median_s": round(a, 3),
        "ratio": round(a / b, 3),
        "overhead_s": round(a - b, 3),
        "plain_docker_run_s": round(local, 3),
    }


def print_slurm(result: dict) -> None:
    print(
        f"slurm: one evaluation through Slurm, trivial model, {result['items']:,} items, median of "
        f"{result['repeats']} each, alternating"
    )
    print(f"  bare sbatch of the same docker run          {result['baseline_median_s']:.3f} s")
    print(f"  arena (sbatch, node-run, score centrally)   {result['arena_median_s']:.3f} s")
    print(
        f"  ratio arena / bare                          {result['ratio']:.2f}x "
        f"(+{result['overhead_s']:.2f} s a job; the docker run alone takes {result['plain_docker_run_s']:.2f} s)"
    )
