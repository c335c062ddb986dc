"""A programme's busiest day, replayed against the scheduler logic: 20 challenges x 200 teams x
5 submissions a day on a 1,000-GPU partition (docs/scale.md).

The same arrivals go through two policies in the same run:
- baseline: first come, first served (with backfill: a job that does not fit waits, later ones
  that fit start);
- arena: the fair queue of arena/services/queue.py (its `order` function and its per-team cap on
  running jobs, over each team's oldest queued jobs).
Both schedule in passes once a simulated minute. Reported: queue waits (median, p95, max), the
waits of teams that submit one job at a time against teams that submit bursts, Jain's fairness
index over teams' mean waits, GPU use, and how long one claim's ordering takes at this size.
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from arena.services import queue

DAY_MIN = 24 * 60
T0 = datetime(2027, 3, 1)


@dataclass
class Sim:
    gpus: int
    jobs: list[tuple[int, int, int, int, int]]  # (arrival minute, job id, team, gpus, runtime minutes)
    waits: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    busy_gpu_minutes: int = 0
    order_seconds: list[float] = field(default_factory=list)


def workload(*, challenges: int = 20, teams_per: int = 200, per_day: int = 5, seed: int = 11):
    """Arrivals: most teams submit through the day, a third of them into the evening rush before
    a round's deadline; one team in ten sends its whole day at once (a burst); and in each
    challenge one team with a larger quota (an organiser's baselines, say) sends 50 at 16:00."""
    rng = np.random.default_rng(seed)
    jobs, bursty = [], set()
    gpus_of = rng.choice([1, 1, 1, 2, 4, 8], size=challenges)
    median_of = rng.uniform(5, 25, size=challenges)
    job_id = 0
    for c in range(challenges):
        for t in range(teams_per):
            team = c * teams_per + t
            if t == 0:
                bursty.add(team)
                times = [16 * 60] * 50
            elif rng.random() < 0.1:
                bursty.add(team)
                start = int(rng.uniform(8 * 60, 20 * 60))
                times = [start] * per_day
            else:
                times = [
                    int(rng.uniform(16 * 60, 19 * 60)) if rng.random() < 0.35 else int(rng.uniform(7 * 60, 23 * 60))
                    for _ in range(per_day)
                ]
            for arrival in times:
                runtime = int(min(60, max(1, rng.lognormal(np.log(median_of[c]), 0.6))))
                jobs.append((arrival, job_id, team, int(gpus_of[c]), runtime))
                job_id += 1
    jobs.sort()
    return jobs, bursty


def simulate(jobs, *, gpus: int, policy: str, team_cap: int = 2) -> Sim:
    sim = Sim(gpus, jobs)
    queued: dict[int, deque] = defaultdict(deque)
    running: dict[int, int] = defaultdict(int)
    finishing: list[tuple[int, int, int]] = []  # (end minute, team, gpus)
    free, position, minute = gpus, 0, 0
    while minute < 3 * DAY_MIN and (position < len(jobs) or finishing or any(queued.values())):
        while finishing and finishing[0][0] <= minute:
            _, team, used = heapq.heappop(finishing)
            running[team] -= 1
            free += used
        while position < len(jobs) and jobs[position][0] <= minute:
            arrival, job_id, team, need, runtime = jobs[position]
            queued[team].append((job_id, team, T0 + timedelta(minutes=arrival), {"gpus": need, "runtime": runtime}))
            position += 1
        if free:
            started = time.perf_counter()
            if policy == "fifo":
                candidates = sorted((job for q in queued.values() for job in q), key=lambda j: (j[2], j[0]))
            else:
                candidates = queue.order([job for q in queued.values() for job in list(q)[: queue.HEADS]], running)
            sim.order_seconds.append(time.perf_counter() - started)
            for job_id, team, created, info in candidates:
                if info["gpus"] > free:
                    continue
                if policy != "fifo" and running[team] >= team_cap:
                    continue
                queued[team].remove((job_id, team, created, info))
                free -= info["gpus"]
                running[team] += 1
                sim.waits[team].append(minute - int((created - T0).total_seconds() // 60))
                sim.busy_gpu_minutes += info["gpus"] * info["runtime"]
                heapq.heappush(finishing, (minute + info["runtime"], team, info["gpus"]))
                if not free:
                    break
        minute += 1
    return sim


def jain(values: list[float]) -> float:
    values = [v for v in values]
    return (sum(values) ** 2) / (len(values) * sum(v * v for v in values)) if any(values) else 1.0


def summary(sim: Sim, bursty: set[int]) -> dict:
    waits = [w for team in sim.waits.values() for w in team]
    steady = [w for team, ws in sim.waits.items() if team not in bursty for w in ws]
    burst = [w for team, ws in sim.waits.items() if team in bursty for w in ws]
    return {
        "jobs": len(waits),
        "p50_wait_min": float(np.percentile(waits, 50)),
        "p95_wait_min": float(np.percentile(waits, 95)),
        "max_wait_min": max(waits),
        "steady_teams_p95_min": float(np.percentile(steady, 95)),
        "bursty_teams_p95_min": float(np.percentile(burst, 95)),
        "jain_mean_wait": jain([statistics.mean(ws) + 1 for ws in sim.waits.values()]),
        "gpu_use": sim.busy_gpu_minutes / (sim.gpus * DAY_MIN),
        "order_ms_p95": 1000 * float(np.percentile(sim.order_seconds, 95)),
    }


def bench_scale(gpus: int = 1000) -> list[dict]:
    jobs, bursty = workload()
    fifo = summary(simulate(jobs, gpus=gpus, policy="fifo"), bursty)
    fair = summary(simulate(jobs, gpus=gpus, policy="arena"), bursty)
    return [
        {"benchmark": "scale_day", "policy": "fifo (baseline)", **fifo},
        {
            "benchmark": "scale_day",
            "policy": "arena fair queue",
            **fair,
            "steady_p95_ratio_fifo_over_arena": (fifo["steady_teams_p95_min"] + 1) / (fair["steady_teams_p95_min"] + 1),
        },
    ]


def print_scale(results: list[dict]) -> None:
    fifo, fair = results
    print(
        f"scale: one day, 20 challenges x 200 teams x 5 submissions, and a 50-job burst per challenge "
        f"({fifo['jobs']:,} jobs) on 1,000 GPUs"
    )
    print(
        f"  {'policy':<18} {'p50':>6} {'p95':>6} {'max':>6} {'steady p95':>11} {'bursty p95':>11} "
        f"{'Jain':>6} {'GPU use':>8} {'order p95':>10}"
    )
    for r in results:
        print(
            f"  {r['policy']:<18} {r['p50_wait_min']:>6.0f} {r['p95_wait_min']:>6.0f} {r['max_wait_min']:>6.0f} "
            f"{r['steady_teams_p95_min']:>11.0f} {r['bursty_teams_p95_min']:>11.0f} {r['jain_mean_wait']:>6.3f} "
            f"{r['gpu_use']:>8.1%} {r['order_ms_p95']:>8.1f}ms"
        )
    print(
        f"  waits in minutes; steady teams' p95 wait, fifo / arena (+1 min): "
        f"{fair['steady_p95_ratio_fifo_over_arena']:.2f}x"
    )
