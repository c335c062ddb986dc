"""The interactive protocol's driver: items per second through `sandbox.drive` against a bare
HTTP client on the same unix socket, the same server and the same requests.

The server is the example model (examples/models/chat/serve.py) in a process of its own, as a
container would be, without the container (the engine's cost is job_overhead's subject). The baseline
sends each item's chat request with http.client over a plain AF_UNIX
connection and takes the answer as it comes: no socket check, no deadlines, no size cap, no
validation. The driver adds all of those, the conversation of multi-turn items, and its thread
pool. Reported as baseline time / driver time per item (1.0: the checks cost nothing), at
concurrency 1, then the driver's speed-up at concurrency 4.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox import SessionLimits, drive

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "examples" / "models" / "chat" / "serve.py"
ITEMS = [(f"q{i}", {"messages": [{"role": "user", "content": f"What is {i} + {i * 7}?"}]}) for i in range(400)]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def _bare(path: Path) -> None:
    for _id, item in ITEMS:
        connection = _UnixConnection(str(path))
        connection.request(
            "POST",
            "/v1/chat/completions",
            json.dumps({"messages": item["messages"]}),
            {"Content-Type": "application/json"},
        )
        json.loads(connection.getresponse().read())
        connection.close()


def _driven(path: Path, concurrency: int) -> None:
    limits = SessionLimits(startup_s=10, request_s=10, max_answer_bytes=65536, concurrency=concurrency)
    answered = drive(
        socket_path=path,
        items=iter(ITEMS),
        limits=limits,
        deadline=time.monotonic() + 600,
        alive=lambda: True,
        sink=io.BytesIO(),
    )
    assert answered == len(ITEMS)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_interactive(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-bench-chat-") as tmp:
        path = Path(tmp) / "model.sock"
        server = subprocess.Popen(
            [sys.executable, str(SERVE)], env={**os.environ, "ARENA_MODEL_SOCKET": str(path)}, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            _bare(path), _driven(path, 1)  # warm-up
            bare, one, four = [], [], []
            for _ in range(repeats):
                bare.append(_timed(lambda: _bare(path)))
                one.append(_timed(lambda: _driven(path, 1)))
                four.append(_timed(lambda: _driven(path, 4)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    b, d1, d4 = (statistics.median(x) for x in (bare, one, four))
    n = len(ITEMS)
    return {
        "name": "interactive_driver",
        "items": n,
        "repeats": repeats,
        "baseline": "bare http.client on the socket",
        "baseline_ms_per_item": round(1000 * b / n, 3),
        "driver_ms_per_item": round(1000 * d1 / n, 3),
        "driver4_ms_per_item": round(1000 * d4 / n, 3),
        "ratio": round(b / d1, 3),
        "concurrency4_speedup": round(d1 / d4, 2),
    }


def print_interactive(result: dict) -> None:
    print(
        f"interactive driver: {result['items']} chat items through the example model on a unix socket: "
        f"driver {result['driver_ms_per_item']} ms/item vs bare http.client {result['baseline_ms_per_item']} "
        f"ms/item: ratio {result['ratio']} (1.0 = the checks cost nothing); concurrency 4: "
        f"{result['driver4_ms_per_item']} ms/item (×{result['concurrency4_speedup']})"
    )


if __name__ == "__main__":
    print_interactive(bench_interactive(5))
