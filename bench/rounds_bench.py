"""Closing a round: the paired tests, from published differences, against the textbook paired
bootstrap that resamples item indices; and a whole round's decisions for many teams.

Both tests use 10,000 resamples on the same per-item improvements, measured in the same run,
alternately. The ratio is how many times faster the published-differences test is.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import evaluators
from arena.domain import payout

RESAMPLES = 10_000


def _index_bootstrap(improvement: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    n = len(improvement)
    extreme = 0
    for _ in range(RESAMPLES // 100):  # in blocks of 100 resamples, to bound memory
        idx = rng.integers(0, n, size=(100, n))
        extreme += int(np.count_nonzero(improvement[idx].mean(axis=1) <= 0))
    return (1 + extreme) / (1 + RESAMPLES)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_paired(items: int, repeats: int) -> dict:
    rng = np.random.default_rng(7)
    improvement = (rng.random(items) < 0.051).astype(float) - (rng.random(items) < 0.049).astype(float)
    found = evaluators.differences(improvement)
    baseline, ours = [], []
    for _ in range(repeats):
        baseline.append(_timed(lambda: _index_bootstrap(improvement, 1)))
        ours.append(
            _timed(lambda: evaluators.p_value(evaluators.differences(improvement), seed=1, resamples=RESAMPLES))
        )
    return {
        "benchmark": "rounds_paired_test",
        "items": items,
        "resamples": RESAMPLES,
        "repeats": repeats,
        "baseline_median_s": statistics.median(baseline),
        "arena_median_s": statistics.median(ours),
        "ratio": statistics.median(baseline) / statistics.median(ours),
        "p_index": _index_bootstrap(improvement, 1),
        "p_published": evaluators.p_value(found, seed=1, resamples=RESAMPLES),
    }


def _evidence(teams: int, items: int) -> dict:
    rng = np.random.default_rng(3)
    skill = np.sort(rng.uniform(0.80, 0.95, teams))[::-1]
    correct = [rng.random(items) < s for s in skill]
    base = -0.85
    evidence = {
        "challenge": "bench",
        "round": 1,
        "higher_is_better": True,
        "rules": {
            "kpi": {"baseline": {"score": 0.85}, "alpha": 0.05, "eliminate_after": 2},
            "rewards": {"rule": "rank_band_split", "shares": ["0.5", "0.3", "0.2"]},
            "resamples": RESAMPLES,
        },
        "pool": {"cents": 1_000_000_00, "gpu_minutes": 60_000},
        "baseline": {"score": 0.85},
        "teams": [
            {
                "team": f"team-{i:03d}",
                "submission": f"sub-{i}",
                "score": float(c.mean()),
                "ci_low": None,
                "ci_high": None,
                "factories": [[f"factory-{i}", "1.0"]],
                "misses_before": 0,
                "vs_baseline": evaluators.differences(base + c.astype(float)).as_dict(),
            }
            for i, c in enumerate(correct)
        ],
    }
    by_name = {f"team-{i:03d}": c.astype(float) for i, c in enumerate(correct)}
    evidence["pairs"] = [
        {"better": a, "worse": b, "differences": evaluators.differences(by_name[a] - by_name[b]).as_dict()}
        for a, b in payout.tie_pairs(evidence)
    ]
    return evidence


def bench_round(teams: int, items: int) -> dict:
    evidence = _evidence(teams, items)
    seconds = _timed(lambda: payout.decide(evidence))
    return {
        "benchmark": "rounds_decide",
        "teams": teams,
        "items": items,
        "seconds": seconds,
        "pair_tests": len(evidence["pairs"]),
    }


def bench_rounds(repeats: int) -> list[dict]:
    return [bench_paired(100_000, repeats), bench_round(200, 100_000)]


def print_rounds(results: list[dict]) -> None:
    paired, whole = results
    print(
        f"rounds: a paired test of {paired['items']:,} items, {paired['resamples']:,} resamples, "
        f"median of {paired['repeats']}"
    )
    print(f"  index resampling (baseline)       {paired['baseline_median_s']:.3f} s  (p = {paired['p_index']:.4f})")
    print(f"  from published differences       {paired['arena_median_s']:.4f} s  (p = {paired['p_published']:.4f})")
    print(f"  ratio baseline / arena            {paired['ratio']:.0f}x")
    print(
        f"  a whole round's decisions: {whole['teams']} teams x {whole['items']:,} items "
        f"({whole['pair_tests']} neighbour tests + KPI tests) in {whole['seconds']:.2f} s"
    )
