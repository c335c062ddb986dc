"""Agents in environments, on the real engine.

1. Per-item environment start and teardown: Arena's `ItemEnvironment` (folders made and the item's
   files staged, the hardened container created and started, the files copied into its tmpfs
   working directory; then removed and wiped) against a bare `docker run -d IMAGE sleep infinity`
   and `docker rm -f` of the same environment image, alternated. Reported as Arena / bare.
2. A whole agent run: the example agent (examples/models/repo-agent) in its sandbox, driven over
   50 items (the repo-repair items, repeated) at concurrency 4, each item in its own environment
   with its tool calls and its score command. Reported as seconds in all and per item.

Needs the images arena-example/repo-env and arena-example/repo-agent (examples/build_images.py).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sandbox import AgentLimits, EnvironmentConfig, JobFolder, Limits, RunSpec, SessionLimits, run_agent
from sandbox._agent import ItemEnvironment, Trajectory
from sandbox._docker import DockerRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "challenges" / "repo-repair"
ENV_IMAGE = os.environ.get("ARENA_BENCH_ENV_IMAGE", "arena-example/repo-env")
AGENT_IMAGE = os.environ.get("ARENA_BENCH_AGENT_IMAGE", "arena-example/repo-agent")


def _config(image_id: str) -> EnvironmentConfig:
    return EnvironmentConfig(
        image_id=image_id,
        tools=("bash", "python", "read_file", "write_file"),
        score_command=("python3", "/opt/arena/score.py"),
        workdir="/work",
        limits=Limits(memory_mb=256, pids=64, tmp_mb=64),
        agent=AgentLimits(workdir_mb=16, tool_call_s=10, tool_time_s=60),
    )


def _items() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLE / "inputs.jsonl").read_text().splitlines()]


def _image_id(name: str) -> str:
    return subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", name], check=True, capture_output=True, text=True
    ).stdout.strip()


def _arena_once(runner: DockerRunner, config: EnvironmentConfig, item: dict, root: Path) -> float:
    started = time.perf_counter()
    env = ItemEnvironment(
        runner=runner,
        config=config,
        job_id="job-bench-" + secrets.token_hex(4),
        number=1,
        item_id=item["id"],
        files=item["input"]["files"],
        score_files={},
        files_root=EXAMPLE,
        work_root=root,
        trajectory=Trajectory(io.BytesIO()),
    )
    with env:
        pass
    return time.perf_counter() - started


def _bare_once(image: str) -> float:
    started = time.perf_counter()
    name = "arena-bench-bare-" + secrets.token_hex(4)
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--network", "none", image, "sleep", "infinity"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
    return time.perf_counter() - started


def bench_start_teardown(repeats: int) -> dict:
    runner, image = DockerRunner(), _image_id(ENV_IMAGE)
    config, item = _config(image), _items()[0]
    arena, bare = [], []
    with tempfile.TemporaryDirectory(prefix="arena-bench-env-") as tmp:
        _arena_once(runner, config, item, Path(tmp) / "warm"), _bare_once(image)  # warm-up
        for number in range(repeats):
            arena.append(_arena_once(runner, config, item, Path(tmp) / str(number)))
            bare.append(_bare_once(image))
    a, b = statistics.median(arena), statistics.median(bare)
    return {
        "name": "agent_environment",
        "repeats": repeats,
        "baseline": "docker run -d + docker rm -f (CLI)",
        "arena_ms": round(1000 * a),
        "baseline_ms": round(1000 * b),
        "arena_over_bare": round(a / b, 2),
    }


def _write_items(path: Path, n: int) -> None:
    items = _items()
    with path.open("w") as out:
        for number in range(n):
            item = items[number % len(items)]
            out.write(json.dumps({"id": f"{item['id']}-{number}", "input": item["input"]}) + "\n")


def bench_fifty(n: int = 50, concurrency: int = 4) -> dict:
    runner = DockerRunner()
    with tempfile.TemporaryDirectory(prefix="arena-bench-agent-") as tmp:
        folder = JobFolder.create(
            root=Path(tmp), job_id="job-bench-" + secrets.token_hex(4), size_bytes=0, use_tmpfs=False
        )
        _write_items(folder.path / "items.jsonl", n)
        (folder.input / "task.json").write_text(
            json.dumps({"protocol": 2, "challenge": "bench", "metric": "environment_score", "n_items": n})
        )
        spec = RunSpec(
            job_id=folder.path.name,
            image_id=_image_id(AGENT_IMAGE),
            input_dir=folder.input,
            output_dir=folder.output,
            limits=Limits(time_limit_s=1800, memory_mb=256, pids=64),
            environment={"ARENA_MODEL_SOCKET": "/run/arena/model.sock"},
            run_dir=folder.run,
        )
        started = time.perf_counter()
        outcome, failure = run_agent(
            runner,
            spec,
            items=folder.path / "items.jsonl",
            answers=folder.path / "answers.jsonl",
            limits=SessionLimits(startup_s=30, request_s=30, max_answer_bytes=65536, concurrency=concurrency),
            max_answers_bytes=2**24,
            config=_config(_image_id(ENV_IMAGE)),
            files_root=EXAMPLE,
            work_root=folder.path / "environments",
            trajectory=folder.path / "trajectory.jsonl",
        )
        took = time.perf_counter() - started
        scores = [json.loads(line)["prediction"] for line in (folder.path / "answers.jsonl").read_text().splitlines()]
        folder.wipe()
        shutil.rmtree(tmp, ignore_errors=True)
    if failure is not None:
        raise RuntimeError(f"the agent run failed: {failure.detail}")
    return {
        "name": "agent_fifty_items",
        "items": n,
        "concurrency": concurrency,
        "answered": len(scores),
        "mean_score": round(sum(scores) / len(scores), 3),
        "seconds": round(took, 1),
        "seconds_per_item": round(took / n, 2),
    }


def bench_agent(repeats: int) -> list[dict]:
    return [bench_start_teardown(max(repeats, 3)), bench_fifty()]


def print_agent(results: list[dict]) -> None:
    one, fifty = results
    print(
        f"agent environment: start + teardown {one['arena_ms']} ms (Arena: folders, files, hardened container, "
        f"copy into its workdir; removal) vs {one['baseline_ms']} ms for a bare docker run + rm of the same "
        f"image: {one['arena_over_bare']}× (median of {one['repeats']})"
    )
    print(
        f"agent run: {fifty['items']} repo-repair items at concurrency {fifty['concurrency']}, each in its own "
        f"environment with tool calls and scoring: {fifty['seconds']} s ({fifty['seconds_per_item']} s/item), "
        f"mean score {fifty['mean_score']}"
    )


if __name__ == "__main__":
    print_agent(bench_agent(5))
