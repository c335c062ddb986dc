"""Upload benchmark: a 1 GiB image tarball streamed through the API (`arena serve` as its own
process, single-request upload), against a plain copy of the same file on the same disk, in the
same run; and the server process's peak resident memory growth during the upload."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import requests

ARENA = str(Path(sys.executable).parent / "arena")
MIB = 1024**2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_tarball(path: Path, size_mib: int) -> None:
    """A `docker save`-shaped tarball with one layer of `size_mib` MiB."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    layer = path.with_suffix(".layer")
    block = os.urandom(MIB)
    with layer.open("wb") as out:
        for _ in range(size_mib):
            out.write(block)
    manifest = json.dumps([{"Config": f"blobs/sha256/{digest}", "Layers": ["blobs/sha256/layer"]}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in ((f"blobs/sha256/{digest}", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(layer, arcname="blobs/sha256/layer")
    layer.unlink()


def _peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as handle:
        handle.write("5")


def bench_upload(size_mib: int = 1024, repeats: int = 3) -> dict:
    work = Path(tempfile.mkdtemp(prefix="arena-bench-upload-"))
    port = _free_port()
    env = {
        **os.environ,
        "ARENA_HOME": str(work / "home"),
        "ARENA_RUNNER": "fake",
        "ARENA_EMBEDDED_WORKER": "0",
        "ARENA_MAX_ATTEMPTS": "3",
    }
    log = (work / "serve.log").open("w")
    server = subprocess.Popen([ARENA, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{url}/api/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        organiser = json.loads(
            subprocess.run(
                [ARENA, "admin", "create-organiser", "Bench", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )["token"]
        bundle = work / "bundle"
        bundle.mkdir()
        (bundle / "challenge.yaml").write_text(
            "slug: bench\ntitle: Bench\nmetric: accuracy\ndaily_quota: 1000\nmax_pending: 100\n"
        )
        (bundle / "inputs.jsonl").write_text('{"id": "a", "input": 1}\n')
        (bundle / "labels.jsonl").write_text('{"id": "a", "label": 1}\n')
        subprocess.run(
            [ARENA, "challenge", "create", str(bundle)],
            env={**env, "ARENA_URL": url, "ARENA_TOKEN": organiser},
            check=True,
            capture_output=True,
        )
        team = requests.post(
            f"{url}/api/teams", json={"name": "Bench"}, headers={"Authorization": f"Bearer {organiser}"}
        ).json()["token"]
        tarball = work / "image.tar"
        make_tarball(tarball, size_mib)
        copies, uploads, growth = [], [], []
        for attempt in range(repeats):
            started = time.perf_counter()
            shutil.copyfile(tarball, work / "copy.tar")
            with open(work / "copy.tar", "rb+") as handle:
                os.fsync(handle.fileno())
            copies.append(time.perf_counter() - started)
            (work / "copy.tar").unlink()
            _reset_peak(server.pid)
            before = _peak_kib(server.pid)
            started = time.perf_counter()
            with tarball.open("rb") as body:
                answer = requests.post(
                    f"{url}/api/challenges/bench/submissions",
                    data=body,
                    timeout=600,
                    headers={
                        "Authorization": f"Bearer {team}",
                        "Content-Type": "application/x-tar",
                        "Idempotency-Key": f"bench-{attempt}",
                    },
                )
            uploads.append(time.perf_counter() - started)
            growth.append(_peak_kib(server.pid) - before)
            assert answer.status_code == 201, answer.text
            for stored in (work / "home" / "blobs" / "images").glob("*.tar"):
                stored.unlink()  # so the next upload stores the file again instead of deduplicating
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    copy, upload = sorted(copies)[len(copies) // 2], sorted(uploads)[len(uploads) // 2]
    return {
        "name": "upload",
        "size_mib": size_mib,
        "repeats": repeats,
        "baseline": "plain copy of the file on the same disk",
        "baseline_median_s": round(copy, 3),
        "arena_median_s": round(upload, 3),
        "ratio": round(copy / upload, 3),
        "arena_mib_per_s": round(size_mib / upload, 1),
        "goal": ">= 0.5",
        "server_peak_growth_mib": round(max(growth) / 1024, 1),
        "memory_goal": "< 64 MiB",
    }
