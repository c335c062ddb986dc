"""Metric plus a 1,000-resample 95% bootstrap interval on 1,000,000 predictions, per built-in metric
with a sufficient-statistics shortcut, against scipy.stats.bootstrap (same statistic, same data)
and scikit-learn's metric, in the same run.

scipy.stats.bootstrap resamples item indices: at 1,000,000 items and 1,000 resamples it would hold
a billion-element array, so it is timed at SCIPY_RESAMPLES resamples (vectorised in batches) and
scaled linearly to 1,000; that extrapolation is printed as such."""

from __future__ import annotations

import time

import numpy as np
from scipy import stats
from sklearn import metrics as sk

from evaluators import bootstrap_interval, get_metric

N = 1_000_000
RESAMPLES = 1000
SCIPY_RESAMPLES = 10


def _cases(rng):
    gold_cls = rng.choice(["a", "b", "c"], size=N).tolist()
    pred_cls = [g if r < 0.7 else "a" for g, r in zip(gold_cls, rng.random(N), strict=False)]
    y = rng.normal(size=N)
    p = y + rng.normal(scale=0.5, size=N)
    binary = rng.integers(0, 2, N)
    prob = np.clip(binary * 0.6 + rng.random(N) * 0.4, 0, 1)
    correct = (np.asarray(pred_cls) == np.asarray(gold_cls)).astype(float)
    return {
        "accuracy": (pred_cls, gold_cls, lambda: sk.accuracy_score(gold_cls, pred_cls), correct),
        "macro_f1": (pred_cls, gold_cls, lambda: sk.f1_score(gold_cls, pred_cls, average="macro"), None),
        "micro_f1": (pred_cls, gold_cls, lambda: sk.f1_score(gold_cls, pred_cls, average="micro"), None),
        "mae": (p.tolist(), y.tolist(), lambda: sk.mean_absolute_error(y, p), np.abs(y - p)),
        "rmse": (p.tolist(), y.tolist(), lambda: np.sqrt(sk.mean_squared_error(y, p)), (y - p) ** 2),
        "log_loss": (
            prob.tolist(),
            binary.tolist(),
            lambda: sk.log_loss(binary, np.clip(prob, 1e-15, 1 - 1e-15)),
            -(binary * np.log(np.clip(prob, 1e-15, 1)) + (1 - binary) * np.log(np.clip(1 - prob, 1e-15, 1))),
        ),
    }


def _scipy_seconds(per_item: np.ndarray | None) -> float | None:
    if per_item is None:
        return None
    started = time.perf_counter()
    stats.bootstrap(
        (per_item,),
        np.mean,
        n_resamples=SCIPY_RESAMPLES,
        batch=2,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(0),
    )
    return (time.perf_counter() - started) * RESAMPLES / SCIPY_RESAMPLES


def bench_metrics() -> list[dict]:
    rng = np.random.default_rng(20261125)
    rows = []
    for name, (pred, gold, sklearn_score, per_item) in _cases(rng).items():
        started = time.perf_counter()
        found = bootstrap_interval(get_metric(name), pred, gold, seed=1, resamples=RESAMPLES)
        arena = time.perf_counter() - started
        started = time.perf_counter()
        reference = sklearn_score()
        sklearn_s = time.perf_counter() - started
        scipy_s = _scipy_seconds(per_item)
        rows.append(
            {
                "name": f"metrics/{name}",
                "n": N,
                "resamples": RESAMPLES,
                "arena_s": round(arena, 3),
                "sklearn_metric_only_s": round(sklearn_s, 3),
                "scipy_bootstrap_s_extrapolated": None if scipy_s is None else round(scipy_s, 1),
                "speedup_vs_scipy": None if scipy_s is None else round(scipy_s / arena, 1),
                "matches_sklearn": bool(abs(found.score - reference) < 1e-9 * max(1, abs(reference))),
                "method": found.method,
                "goal": "< 0.5 s and >= 100x scipy",
            }
        )
    return rows


def print_metrics(rows: list[dict]) -> None:
    print(
        f"metrics: score + {RESAMPLES}-resample 95% interval on {N:,} predictions "
        f"(scipy timed at {SCIPY_RESAMPLES} resamples, scaled to {RESAMPLES})"
    )
    for r in rows:
        scipy_part = (
            f"scipy ~{r['scipy_bootstrap_s_extrapolated']:.0f} s ({r['speedup_vs_scipy']:.0f}x)"
            if r["scipy_bootstrap_s_extrapolated"] is not None
            else "scipy: no per-item statistic"
        )
        print(
            f"  {r['name'][8:]:<10} arena {r['arena_s']:.3f} s   "
            f"sklearn metric alone {r['sklearn_metric_only_s']:.3f} s"
            f"   {scipy_part}   same score as sklearn: {r['matches_sklearn']}"
        )
    print("  r2, auroc, top_k_accuracy, exact_match, token_f1: r2 and auroc have no shortcut yet (index resampling);")
    print("  the text metrics use the per-item shortcut but are not timed here.")
