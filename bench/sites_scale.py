"""5 sites x 1,000 GPUs with agents polling: claim latency and the central API's load at the
busiest hour (docs/scale.md).

Two parts. A simulation (seeded, no I/O): each site has 125 nodes of 8 GPUs; its agent polls every
`poll_s` at its own phase and, each pass, sends one heartbeat, one renew for all its running jobs,
and one claim per job it takes plus the claim that finds none; jobs arrive as a Poisson stream
that peaks at the busiest hour, need 1, 2, 4 or 8 GPUs on one node and run a log-normal time. Then
the cost of each call is measured on the real API in this process (Flask test client, SQLite, a
queue of queued jobs), and the simulated call rates are priced with it: the central API's busy
cores at the busiest minute.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import os
import random
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

SITES, NODES, GPUS_PER_NODE = 5, 125, 8
GPU_MIX = [(1, 0.55), (2, 0.2), (4, 0.15), (8, 0.1)]


def _arrival_rate(t: float) -> float:
    """Jobs per second: a quiet baseline, the busiest hour from 1 h to 2 h (the day before a deadline)."""
    return 9000 / 3600 if 3600 <= t < 7200 else 1500 / 3600


def _gpus(rng: random.Random) -> int:
    pick, acc = rng.random(), 0.0
    for gpus, share in GPU_MIX:
        acc += share
        if pick <= acc:
            return gpus
    return 1


def simulate(*, poll_s: float = 5.0, hours: float = 3.0, seed: int = 7) -> dict:
    rng = random.Random(seed)
    end = hours * 3600
    arrivals, t = [], 0.0
    while t < end:  # thinning of a Poisson stream with the peak rate
        t += rng.expovariate(9000 / 3600)
        if rng.random() < _arrival_rate(t) / (9000 / 3600):
            arrivals.append((t, _gpus(rng), min(3600.0, rng.lognormvariate(6.0, 0.8))))  # median ~6.7 min
    free = [[GPUS_PER_NODE] * NODES for _ in range(SITES)]
    running: list[list] = [[] for _ in range(SITES)]  # heaps of (end, node, gpus)
    queue: list[tuple] = []
    waits, calls = [], [0] * (int(end // 60) + 1)
    polls = sorted((rng.uniform(0, poll_s) + k * poll_s, s) for s in range(SITES) for k in range(int(end / poll_s)))
    next_arrival = 0
    for when, site in polls:
        while next_arrival < len(arrivals) and arrivals[next_arrival][0] <= when:
            queue.append(arrivals[next_arrival])
            next_arrival += 1
        while running[site] and running[site][0][0] <= when:
            _end, node, gpus = heapq.heappop(running[site])
            free[site][node] += gpus
        minute = int(when // 60)
        calls[minute] += 2 if running[site] else 1  # heartbeat, and one renew for all its jobs
        taken = _claim(queue, free[site], running[site], when, waits)
        calls[minute] += taken + 1  # one claim per job, and the one that finds none
    busy = slice(60, 120)
    peak_waits = [w for at, w in waits if 3600 <= at < 7200]
    return {
        "sites": SITES,
        "gpus": SITES * NODES * GPUS_PER_NODE,
        "poll_s": poll_s,
        "jobs": len(arrivals),
        "busiest_hour_jobs": sum(1 for a in arrivals if 3600 <= a[0] < 7200),
        "claim_wait_p50_s": round(_pct(peak_waits, 50), 1),
        "claim_wait_p95_s": round(_pct(peak_waits, 95), 1),
        "claim_wait_p99_s": round(_pct(peak_waits, 99), 1),
        "calls_per_s_busiest_hour": round(sum(calls[busy]) / 3600, 2),
        "calls_per_s_busiest_minute": round(max(calls[busy]) / 60, 2),
        "left_queued": len(queue),
    }


def _claim(queue: list, free: list[int], running: list, when: float, waits: list) -> int:
    """The agent claims in queue order while a node fits the head (the fair queue's order, which
    the simulation takes as first come, first served between equals)."""
    taken = 0
    while queue:
        arrived, gpus, duration = queue[0]
        node = next((n for n, left in enumerate(free) if left >= gpus), None)
        if node is None:
            break
        queue.pop(0)
        free[node] -= gpus
        heapq.heappush(running, (when + duration, node, gpus))
        waits.append((arrived, when - arrived))
        taken += 1
    return taken


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


# -- the measured cost of each call ------------------------------------------------------------------
def _tarball(salt: str) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "salt": salt, "config": {}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (
            (f"blobs/sha256/{digest}", config),
            ("manifest.json", json.dumps([{"Config": f"blobs/sha256/{digest}", "Layers": []}]).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def measure_calls(queued: int = 1000, renewed: int = 1000, repeats: int = 20) -> dict:
    from arena import create_app
    from arena.db import upgrade
    from arena.services import accounts, sites
    from arena.services.challenges import create_challenge
    from arena.services.images import receive_image
    from arena.services.submissions import create_submission
    from bench.run import write_bundle
    from sandbox import FakeRunner

    with tempfile.TemporaryDirectory(prefix="arena-sites-scale-") as tmp:
        work = Path(tmp)
        app = create_app(
            {
                "home": work / "home",
                "database_url": f"sqlite:///{work}/arena.db",
                "master_key_file": work / "home" / "master.key",
                "RUNNER": FakeRunner(),
                "job_root": Path(f"/dev/shm/arena-sites-scale-{os.getpid()}"),
                "team_max_running": 10**6,
                "rate_limit_per_minute": 0,
                "lease_s": 3600.0,
            }
        )
        platform = app.extensions["arena"]
        upgrade(platform.engine)
        bundle = write_bundle(work / "bundle", 10)
        (bundle / "challenge.yaml").write_text(
            (bundle / "challenge.yaml").read_text().replace("daily_quota: 1000", "daily_quota: 1000\nmax_pending: 100")
        )
        create_challenge(
            platform, organiser_id=accounts.create_organiser(platform, name="Scale")[0].id, bundle_dir=bundle
        )
        for t in range((queued + renewed) // 100 + 1):
            team = accounts.create_team(platform, name=f"Team {t}", factories=[])[0]
            digest = receive_image(platform, stream=io.BytesIO(_tarball(f"t{t}"))).digest
            for _ in range(min(100, queued + renewed - t * 100)):
                create_submission(platform, team_id=team.id, slug="bench", image_digest=digest)
        _view, token = sites.create_site(platform, name="scale")
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        caps = {
            "runtime": "podman",
            "partitions": [
                {
                    "name": "g",
                    "architecture": "amd64",
                    "gpu_vendor": "nvidia",
                    "gpus_per_node": 8,
                    "cpus_per_node": 64,
                    "memory_mb_per_node": 512000,
                }
            ],
        }
        cost = {
            "heartbeat": _timed(
                lambda: client.post("/api/site/heartbeat", json={"capabilities": caps}, headers=headers), repeats
            )
        }
        claimed: dict[str, str] = {}

        def claim():
            answer = client.post("/api/site/claim", headers=headers)
            claimed[answer.get_json()["job"]] = "1"

        cost["claim"] = _timed(claim, renewed)
        cost["renew_1000"] = _timed(lambda: client.post("/api/site/renew", json={"jobs": claimed}, headers=headers), 5)
        platform.engine.dispose()
    return {"queued": queued, "renewed": len(claimed), **{f"{k}_ms": round(v * 1000, 2) for k, v in cost.items()}}


def _timed(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_sites_scale() -> dict:
    found = simulate()
    cost = measure_calls()
    # Busy cores at the busiest minute: each pass of each agent costs a heartbeat and a renew (priced
    # as a renew of 1,000 jobs: more than a site of 1,000 GPUs runs), the rest are claims.
    passes_per_s = SITES / found["poll_s"]
    claims_per_s = max(0.0, found["calls_per_s_busiest_minute"] - 2 * passes_per_s)
    busy = (claims_per_s * cost["claim_ms"] + passes_per_s * (cost["heartbeat_ms"] + cost["renew_1000_ms"])) / 1000
    return {"name": "sites_scale", **found, **cost, "central_busy_cores_busiest_minute": round(busy, 3)}


def print_sites_scale(result: dict) -> None:
    print(
        f"sites_scale: {result['sites']} sites x {result['gpus'] // result['sites']:,} GPUs, agents polling every "
        f"{result['poll_s']:.0f} s; {result['busiest_hour_jobs']:,} jobs in the busiest hour"
    )
    print(
        f"  claim wait (queued -> claimed), busiest hour  p50 {result['claim_wait_p50_s']} s, "
        f"p95 {result['claim_wait_p95_s']} s, p99 {result['claim_wait_p99_s']} s"
    )
    print(
        f"  central API calls                             {result['calls_per_s_busiest_hour']}/s over the hour, "
        f"{result['calls_per_s_busiest_minute']}/s at its busiest minute"
    )
    print(
        f"  measured cost (SQLite, {result['queued']:,} queued)       heartbeat {result['heartbeat_ms']} ms, "
        f"claim {result['claim_ms']} ms, renew of 1,000 jobs {result['renew_1000_ms']} ms"
    )
    print(f"  central busy cores at the busiest minute      {result['central_busy_cores_busiest_minute']}")
