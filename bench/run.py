"""Arena benchmarks. Each figure is a ratio against a baseline measured in the same run, alternating
baseline and Arena so that a noisy shared machine affects both alike.

    .venv/bin/python bench/run.py [job_overhead|hidden_sets ...] [--repeats N] [--json]

hidden_sets: see bench/hidden_set_bench.py (decryption against raw AES-GCM; peak memory).
upload: see bench/upload_bench.py (1 GiB through the API against a plain copy; server memory).
metrics: see bench/metrics_bench.py (score + 1,000-resample interval on 1M predictions vs scipy, sklearn).
rounds: see bench/rounds_bench.py (a round's paired test from published differences vs index resampling).
scale: see bench/scale_sim.py (a programme's busiest day against the fair queue vs first come, first served).
slurm: see bench/slurm_bench.py (dispatch through Arena's Slurm executor vs a bare sbatch of the same run).
web: see bench/web_bench.py (the leaderboard page and JSON at 10,000 submissions vs a static file).
assets: see bench/assets_bench.py (staging binary assets into a job folder vs a plain copy; peak memory).
interactive: see bench/interactive_bench.py (the interactive driver vs a bare HTTP client on the socket).
load: see bench/load_bench.py (teams submitting through the CLI to two workers vs one worker alone).
ratelimit: see bench/ratelimit_bench.py (authenticated requests with the limits counted in the database vs off).
log: see bench/log_bench.py (checkpoint and inclusion proof on a 1,000,000-entry log vs recomputing the
root from all leaves; the whole log audited from its tiles; proof sizes).
scorer: see bench/scorer_bench.py (a scoring container per job vs a built-in metric; statistics from
1M per-item scores vs scipy.stats.bootstrap).
sites: see bench/sites_bench.py (a job through a site agent and Slurm vs a bare sbatch of the same run).
podman: see bench/sites_bench.py (the rootless Podman runner vs a bare `podman run` with the same flags).
sites_scale: see bench/sites_scale.py (5 sites x 1,000 GPUs polling the central API at the busiest hour).
agent: see bench/agent_bench.py (an item's environment start and teardown vs a bare docker run + rm of the
same image; 50 repo-repair items at concurrency 4, environments, tools and scoring included).

job_overhead: the platform's time from job start (claim) to stored score, for a trivial model on
1,000 items, against a bare `docker run` of the same image with the same sandbox flags on the same
inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arena import evaluation  # noqa: E402
from arena.config import load_settings  # noqa: E402
from arena.db import upgrade  # noqa: E402
from arena.runtime import build_platform  # noqa: E402
from arena.services import accounts  # noqa: E402
from arena.services.challenges import create_challenge  # noqa: E402
from arena.services.images import receive_image  # noqa: E402
from arena.services.submissions import create_submission  # noqa: E402
from sandbox import CONTAINER_GID, CONTAINER_UID, build_image, export_image  # noqa: E402

BASE = os.environ.get("ARENA_BASE_IMAGE", "arena/python-base:bookworm")
TRIVIAL = """
import json
with open("/input/inputs.jsonl") as src, open("/output/predictions.jsonl", "w") as out:
    for line in src:
        out.write(json.dumps({"id": json.loads(line)["id"], "prediction": "ok"}) + "\\n")
"""


def write_bundle(folder: Path, items: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "challenge.yaml").write_text(
        "slug: bench\ntitle: Bench\nmetric: accuracy\ndaily_quota: 1000\n"
        "limits: {time_limit_seconds: 60, memory_mb: 512, cpus: 1, pids: 64}\n"
    )
    with (folder / "inputs.jsonl").open("w") as inputs, (folder / "labels.jsonl").open("w") as labels:
        for i in range(items):
            inputs.write(json.dumps({"id": f"i{i}", "input": {"x": i}}) + "\n")
            labels.write(json.dumps({"id": f"i{i}", "label": "ok" if i % 3 else "fault"}) + "\n")
    return folder


def trivial_image(work: Path) -> str:
    context = work / "trivial"
    context.mkdir()
    (context / "predict.py").write_text(TRIVIAL)
    (context / "Dockerfile").write_text(
        f'FROM {BASE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    return build_image(context, tag="arena-bench/trivial:latest")


def bare_run(image_id: str, inputs: Path, work: Path) -> float:
    """`docker run` with the same sandbox flags as Arena's runner, on the same inputs."""
    out = work / f"bare-out-{secrets.token_hex(3)}"
    out.mkdir()
    os.chown(out, CONTAINER_UID, CONTAINER_GID) if os.geteuid() == 0 else os.chmod(out, 0o777)
    command = [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--init",
        "--user",
        f"{CONTAINER_UID}:{CONTAINER_GID}",
        "--memory",
        "512m",
        "--memory-swap",
        "512m",
        "--pids-limit",
        "64",
        "--cpus",
        "1",
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,size=256m,mode=1777",
        "--shm-size",
        "64m",
        "--ulimit",
        "core=0",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        f"fsize={1024**3}",
        "-v",
        f"{inputs}:/input:ro",
        "-v",
        f"{out}:/output",
        image_id,
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)
    return elapsed


def arena_run(platform, team_id: int, digest: str) -> float:
    create_submission(platform, team_id=team_id, slug="bench", image_digest=digest)
    started = time.perf_counter()
    assert evaluation.run_one(platform, worker="bench")
    return time.perf_counter() - started


def prepare(platform, work: Path, items: int) -> tuple[int, str, str, Path]:
    """A challenge of `items`, a team, the trivial image uploaded, and its inputs as plain files
    for the bare baseline: (team id, image id, image digest, inputs folder)."""
    create_challenge(
        platform,
        organiser_id=accounts.create_organiser(platform, name="Bench")[0].id,
        bundle_dir=write_bundle(work / "bundle", items),
    )
    team_id = accounts.create_team(platform, name="Bench team", factories=[])[0].id
    image_id = trivial_image(work)
    export_image(image_id, work / "image.tar")
    with (work / "image.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    inputs = work / "bare-in"
    inputs.mkdir()
    shutil.copy(work / "bundle" / "inputs.jsonl", inputs / "inputs.jsonl")
    os.chmod(inputs / "inputs.jsonl", 0o644)
    return team_id, image_id, digest, inputs


def bench_job_overhead(work: Path, repeats: int, items: int) -> dict:
    settings = load_settings(
        overrides={
            "home": work / "home",
            "database_url": f"sqlite:///{work}/arena.db",
            "master_key_file": work / "home" / "master.key",
            "job_root": Path(f"/dev/shm/arena-bench-{os.getpid()}"),
        }
    )
    platform = build_platform(settings)
    upgrade(platform.engine)
    team_id, image_id, digest, inputs = prepare(platform, work, items)
    bare_run(image_id, inputs, work)  # warm-up both paths
    arena_run(platform, team_id, digest)
    bare, arena = [], []
    for _ in range(repeats):
        bare.append(bare_run(image_id, inputs, work))
        arena.append(arena_run(platform, team_id, digest))
    shutil.rmtree(settings.job_root, ignore_errors=True)
    b, a = statistics.median(bare), statistics.median(arena)
    return {
        "name": "job_overhead",
        "items": items,
        "repeats": repeats,
        "baseline": "bare docker run",
        "baseline_median_s": round(b, 4),
        "arena_median_s": round(a, 4),
        "ratio": round(a / b, 3),
    }


def print_job_overhead(result: dict) -> None:
    print(
        f"job_overhead: job start → stored score, trivial model, {result['items']:,} items, "
        f"median of {result['repeats']} runs each, alternating"
    )
    print(f"  bare docker run (same flags)   {result['baseline_median_s']:.3f} s")
    print(f"  arena job                      {result['arena_median_s']:.3f} s")
    print(f"  ratio arena / bare             {result['ratio']:.2f}x")


def print_hidden_sets(results: list[dict]) -> None:
    speed, memory = results
    print(f"decrypt_throughput: {speed['size_mib']} MiB into a memory-backed job folder, median of {speed['repeats']}")
    print(f"  raw AES-256-GCM in memory      {speed['baseline_median_s']:.3f} s")
    print(f"  arena decrypt to job folder    {speed['arena_median_s']:.3f} s ({speed['arena_mib_per_s']:.0f} MiB/s)")
    print(f"  plain write of the plaintext   {speed['plain_write_median_s']:.3f} s (the floor for a file)")
    print(f"  ratio raw / arena              {speed['ratio']:.2f} (goal {speed['goal']})")
    print(f"  ratio plain write / arena      {speed['ratio_to_plain_write']:.2f}")
    print(f"peak_memory: {memory['size_mib']} MiB set, growth of peak resident memory")
    print(f"  ingest (encrypt into store)    {memory['ingest_growth_mib']:.1f} MiB ({memory['ingest_seconds']:.2f} s)")
    print(f"  decrypt into job folder        {memory['decrypt_growth_mib']:.1f} MiB (goal {memory['goal']})")


def print_upload(result: dict) -> None:
    print(f"upload: a {result['size_mib']} MiB image tarball through the API, median of {result['repeats']}")
    print(f"  plain copy on the same disk    {result['baseline_median_s']:.3f} s")
    print(f"  arena upload (hash, store)     {result['arena_median_s']:.3f} s ({result['arena_mib_per_s']:.0f} MiB/s)")
    print(f"  ratio copy / arena             {result['ratio']:.2f} (goal {result['goal']})")
    print(f"  server peak memory growth      {result['server_peak_growth_mib']:.1f} MiB (goal {result['memory_goal']})")


# name: (module, its bench function, its printer, the bench function's arguments from the options)
MODULES = {
    "metrics": ("bench.metrics_bench", "bench_metrics", "print_metrics", lambda a: []),
    "rounds": ("bench.rounds_bench", "bench_rounds", "print_rounds", lambda a: [min(a.repeats, 3)]),
    "scale": ("bench.scale_sim", "bench_scale", "print_scale", lambda a: []),
    "slurm": ("bench.slurm_bench", "bench_slurm", "print_slurm", lambda a: [min(a.repeats, 5)]),
    "web": ("bench.web_bench", "bench_web", "print_web", lambda a: []),
    "assets": ("bench.assets_bench", "bench_assets", "print_assets", lambda a: [min(a.repeats, 5)]),
    "interactive": ("bench.interactive_bench", "bench_interactive", "print_interactive", lambda a: [min(a.repeats, 5)]),
    "load": ("bench.load_bench", "bench_load", "print_load", lambda a: []),
    "ratelimit": ("bench.ratelimit_bench", "bench_ratelimit", "print_ratelimit", lambda a: [min(a.repeats, 5)]),
    "log": ("bench.log_bench", "bench_log", "print_log", lambda a: [min(a.repeats, 5)]),
    "scorer": ("bench.scorer_bench", "bench_scorer", "print_scorer", lambda a: [min(a.repeats, 5)]),
    "sites": ("bench.sites_bench", "bench_sites", "print_sites", lambda a: [min(a.repeats, 5)]),
    "podman": ("bench.sites_bench", "bench_podman", "print_podman", lambda a: [min(a.repeats, 9)]),
    "sites_scale": ("bench.sites_scale", "bench_sites_scale", "print_sites_scale", lambda a: []),
    "agent": ("bench.agent_bench", "bench_agent", "print_agent", lambda a: [min(a.repeats, 9)]),
}


def _run_module(name: str, args) -> list[dict]:
    import importlib

    module_name, bench, printer, arguments = MODULES[name]
    module = importlib.import_module(module_name)
    found = getattr(module, bench)(*arguments(args))
    if not args.json:
        getattr(module, printer)(found)
    return found if isinstance(found, list) else [found]


ALL = [
    "job_overhead",
    "hidden_sets",
    "upload",
    "metrics",
    "rounds",
    "scale",
    "slurm",
    "web",
    "assets",
    "interactive",
    "load",
    "ratelimit",
    "log",
    "scorer",
    "sites",
    "podman",
    "sites_scale",
    "agent",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmarks", nargs="*", choices=[*ALL, []], default=[], help="which to run (default: all)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--items", type=int, default=1000, help="items for job_overhead")
    parser.add_argument("--size-mib", type=int, default=1024, help="set size for hidden_sets")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    chosen = args.benchmarks or ALL
    results: list[dict] = []
    if "job_overhead" in chosen:
        with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
            results.append(bench_job_overhead(Path(tmp), args.repeats, args.items))
        if not args.json:
            print_job_overhead(results[-1])
    if "hidden_sets" in chosen:
        from bench.hidden_set_bench import bench_hidden_sets

        found = bench_hidden_sets(args.size_mib, repeats=min(args.repeats, 3))
        results += found
        if not args.json:
            print_hidden_sets(found)
    if "upload" in chosen:
        from bench.upload_bench import bench_upload

        results.append(bench_upload(args.size_mib, repeats=min(args.repeats, 3)))
        if not args.json:
            print_upload(results[-1])
    for name in chosen:
        if name in MODULES:
            results += _run_module(name, args)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
