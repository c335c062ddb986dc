"""Factories for test data: bundles and image tarballs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

ARENA = str(Path(sys.executable).parent / "arena")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def make_bundle(
    root: Path,
    *,
    slug: str = "toy",
    metric: str = "accuracy",
    n: int = 10,
    labels: list | None = None,
    sample: bool = True,
    extra: dict | None = None,
) -> Path:
    """A valid bundle: item i has input {"x": i} and label labels[i] (default: "even"/"odd")."""
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "slug": slug,
        "title": f"Toy {slug}",
        "metric": metric,
        "limits": {"time_limit_seconds": 30, "memory_mb": 256},
        **(extra or {}),
    }
    (root / "challenge.yaml").write_text(yaml.safe_dump(config))
    gold = labels if labels is not None else ["even" if i % 2 == 0 else "odd" for i in range(n)]
    write_jsonl(root / "inputs.jsonl", [{"id": f"i{i}", "input": {"x": i}} for i in range(n)])
    write_jsonl(root / "labels.jsonl", [{"id": f"i{i}", "label": gold[i]} for i in range(n)])
    if sample:
        write_jsonl(root / "sample/inputs.jsonl", [{"id": "s0", "input": {"x": 0}}])
        write_jsonl(root / "sample/labels.jsonl", [{"id": "s0", "label": gold[0]}])
    return root


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_image_tarball(
    path: Path, *, arch: str = "amd64", images: int = 1, salt: str = "", run: dict | None = None
) -> str:
    """A minimal `docker save`-shaped tarball; returns the image id it declares."""
    config = json.dumps({"architecture": arch, "os": "linux", "salt": salt, "config": run or {}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"blobs/sha256/{digest}", "RepoTags": None, "Layers": []}] * images
    with tarfile.open(path, "w") as tar:
        _add(tar, f"blobs/sha256/{digest}", config)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return "sha256:" + digest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_arena(
    home: Path, extra_env: dict | None = None, serve_args: tuple[str, ...] = (), workers: int = 0
) -> Iterator[dict]:
    """`arena serve` as a real process on a free port (with `serve_args`, and `workers` separate
    `arena worker` processes); yields the environment to reach it (the workers' process ids in
    ARENA_TEST_WORKER_PIDS)."""
    port = free_port()
    tag = secrets.token_hex(4)
    env = {
        **os.environ,
        "ARENA_HOME": str(home),
        "ARENA_URL": f"http://127.0.0.1:{port}",
        "ARENA_NODE_URL": f"http://127.0.0.1:{port}",
        "ARENA_JOB_ROOT": f"/dev/shm/arena-e2e-{tag}",
        "ARENA_SCRATCH_DIR": f"/dev/shm/arena-e2e-{tag}-scratch",
        "XDG_STATE_HOME": str(home / "client-state"),
    }  # what the CLI keeps (uploads, receipts)
    env.pop("ARENA_TOKEN", None)
    env.update(extra_env or {})
    started: list[subprocess.Popen] = []
    with (home / "serve.log").open("w") as log:  # closed however the start or the test ends
        try:
            started.append(
                subprocess.Popen([ARENA, "serve", "--port", str(port), *serve_args], env=env, stdout=log, stderr=log)
            )
            started += [subprocess.Popen([ARENA, "worker"], env=env, stdout=log, stderr=log) for _ in range(workers)]
            env["ARENA_TEST_WORKER_PIDS"] = ",".join(str(p.pid) for p in started[1:])
            _wait_until_healthy(env["ARENA_URL"], home / "serve.log")
            yield env
        finally:
            for running in started:
                running.terminate()
            for running in started:
                running.wait(timeout=30)
            shutil.rmtree(env["ARENA_JOB_ROOT"], ignore_errors=True)
            shutil.rmtree(env["ARENA_SCRATCH_DIR"], ignore_errors=True)


def _wait_until_healthy(url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90  # a readiness wait: gunicorn boots slowly on a loaded machine
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/api/health", timeout=1).ok:
                return
        except requests.RequestException:  # not listening yet, or its workers still booting
            time.sleep(0.2)
    pytest.fail("arena serve did not answer: " + log_path.read_text())


def arena(env: dict, *args: str, token: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the `arena` command as a process, as a person would."""
    run_env = {**env, **({"ARENA_TOKEN": token} if token else {})}
    done = subprocess.run([ARENA, *args], env=run_env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        pytest.fail(f"arena {' '.join(args)} failed: {done.stderr}")
    return done
