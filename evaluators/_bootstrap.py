"""Seeded, reproducible bootstrap intervals, by each metric's declared aggregation.

A bootstrap resample of n items is a multinomial draw of how often each item is taken. For a
`mean` metric only how often each *distinct score* is taken matters, so the draw is multinomial
over the distinct values (exact; binned into at most `MAX_BINS` quantile bins when there are
more). For a `ratio` metric the same holds for distinct (numerator, denominator) pairs. Either
way one resample costs O(bins), not O(n): 1,000 resamples of a million items take milliseconds.
A `whole_set` metric brings its own rule (confusion cells, DeLong placements ...), or resamples
item indices (O(n) each). See evaluators/_aggregation.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators._aggregation import (
    MAX_BINS,
    draws_of,
    fingerprint_values,
    mean_draws,
    paired_values,
    point,
)
from evaluators._registry import Metric

__all__ = [
    "MAX_BINS",
    "Interval",
    "bootstrap_interval",
    "interval_from_values",
    "item_losses",
    "item_scores",
    "losses_from_values",
    "paired_differences",
]


@dataclass(frozen=True)
class Interval:
    score: float
    low: float
    high: float
    level: float
    resamples: int
    method: str


def _index_draws(
    metric: Metric, predictions: Sequence[Any], labels: Sequence[Any], resamples: int, rng: np.random.Generator
) -> np.ndarray:
    n = len(labels)
    preds, gold = np.asarray(predictions, dtype=object), np.asarray(labels, dtype=object)
    out = np.empty(resamples)
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        try:
            out[b] = metric.score(list(preds[idx]), list(gold[idx]))
        except Exception:  # noqa: BLE001 - a degenerate resample (e.g. one class for AUROC)
            out[b] = np.nan
    return out


def draws(
    metric: Metric, predictions: Sequence[Any], labels: Sequence[Any], *, resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """The metric on each bootstrap resample, and which rule computed them."""
    rule = metric.aggregation
    if rule.kind != "whole_set":
        return draws_of(rule.kind, metric.per_item(predictions, labels), resamples, rng), rule.rule
    if rule.draws is not None:
        return np.asarray(rule.draws(predictions, labels, resamples, rng), dtype=np.float64), rule.rule
    return _index_draws(metric, predictions, labels, resamples, rng), "index resampling"


def _percentiles(score: float, values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval, widened to cover the score itself where a skewed or degenerate
    bootstrap distribution would leave it outside; NaN when no resample was finite."""
    values = values[np.isfinite(values)]
    if not len(values):
        return np.nan, np.nan
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(min(low, score)), float(max(high, score))


def bootstrap_interval(
    metric: Metric,
    predictions: Sequence[Any],
    labels: Sequence[Any],
    *,
    seed: int,
    resamples: int = 1000,
    level: float = 0.95,
) -> Interval:
    """Percentile interval of the metric over `resamples` bootstrap resamples, seeded."""
    rng = np.random.default_rng(seed)
    score = metric.score(predictions, labels)
    with np.errstate(all="ignore"):
        values, method = draws(metric, predictions, labels, resamples=resamples, rng=rng)
    low, high = _percentiles(score, values, level)
    return Interval(score, low, high, level, resamples, method)


def interval_from_values(
    kind: str, values: np.ndarray, *, seed: int, resamples: int = 1000, level: float = 0.95
) -> Interval:
    """The interval of a `mean` or `ratio` metric from its per-item values alone (a scoring
    container's output): the same rule as for a built-in metric that declares it."""
    rng = np.random.default_rng(seed)
    score = point(kind, values)
    with np.errstate(all="ignore"):
        found = draws_of(kind, values, resamples, rng)
    low, high = _percentiles(score, found, level)
    return Interval(score, low, high, level, resamples, f"{kind}: multinomial over per-item values")


def paired_differences(
    values_a: np.ndarray,
    values_b: np.ndarray,
    *,
    seed: int,
    resamples: int = 1000,
    statistic: Callable[[np.ndarray], float] = np.mean,
) -> np.ndarray:
    """Bootstrap of mean(a - b) over items, the same resampled items for both submissions."""
    diff = np.asarray(values_a, float) - np.asarray(values_b, float)
    return mean_draws(diff, resamples, np.random.default_rng(seed))


def item_scores(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """One number per item, for the published digest of what was scored: the per-item score
    (`mean`), numerator / denominator (`ratio`), or the pseudo-value (`whole_set`)."""
    return fingerprint_values(metric.aggregation.kind, metric.per_item(predictions, labels))


def losses_from_values(kind: str, values: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """Per-item losses (lower is better) whose mean is the metric, or minus it when higher is
    better: what the Ladder, KPI tests and rank bands compare item by item."""
    paired = paired_values(kind, values)
    return -paired if higher_is_better else paired


def item_losses(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """Per-item losses by the metric's declared aggregation (see `losses_from_values`)."""
    return losses_from_values(
        metric.aggregation.kind, metric.per_item(predictions, labels), higher_is_better=metric.higher_is_better
    )
