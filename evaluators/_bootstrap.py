"""Seeded, reproducible bootstrap intervals, computed from sufficient statistics.

A bootstrap resample of n items is a multinomial draw of how often each item is taken. Where a
metric is a mean of per-item scores, only how often each *distinct score* is taken matters, so
the draw is multinomial over the distinct values (exact; binned into at most `MAX_BINS` quantile
bins when there are more values, which moves the interval by far less than its own noise). Where
a metric is a function of the confusion matrix, the draw is multinomial over its cells. Either way
one resample costs O(bins), not O(n): 1,000 resamples of a million predictions take milliseconds.
Metrics without a shortcut resample item indices (O(n) each).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators import _metrics as m
from evaluators._registry import Metric

MAX_BINS = 2048


@dataclass(frozen=True)
class Interval:
    score: float
    low: float
    high: float
    level: float
    resamples: int
    method: str


def _per_item_scores(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray | None:
    """Per-item scores whose mean is the metric, where the metric is such a mean."""
    name = metric.name
    if name == "accuracy":
        return m.equal_items(predictions, labels)
    if name == "top_k_accuracy":
        return np.fromiter((m._canonical(g) in {m._canonical(c) for c in p}
                            for p, g in zip(predictions, labels)), float)
    if name == "exact_match":
        return np.fromiter((max(m.normalise_answer(p) == m.normalise_answer(g) for g in m._answers(gold))
                            for p, gold in zip(predictions, labels)), float)
    if name == "token_f1":
        return np.fromiter((max(m._token_f1(p, g) for g in m._answers(gold))
                            for p, gold in zip(predictions, labels)), float)
    if name == "environment_score":
        return m.as_float_array(predictions)
    if name == "mae":
        return np.abs(m.as_float_array(predictions) - m.as_float_array(labels))
    if name == "log_loss":
        gold = m._binary(labels)
        p = np.clip(m.as_float_array(predictions), 1e-15, 1 - 1e-15)
        return -(gold * np.log(p) + (1 - gold) * np.log(1 - p))
    return None


def _bins(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bin means, bin probabilities): exact when there are few distinct values."""
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= MAX_BINS:
        return distinct, counts / counts.sum()
    order = np.sort(values)
    edges = np.linspace(0, len(order), MAX_BINS + 1).astype(np.int64)
    sums = np.add.reduceat(order, edges[:-1])
    sizes = np.diff(edges)
    return sums / sizes, sizes / sizes.sum()


def _mean_draws(values: np.ndarray, n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    means, probabilities = _bins(values)
    counts = rng.multinomial(n, probabilities, size=resamples)
    return counts @ means / n


def _confusion_draws(metric: Metric, predictions, labels, resamples: int, rng) -> np.ndarray:
    matrix = m._confusion(predictions, labels)
    k, n = matrix.shape[0], int(matrix.sum())
    counts = rng.multinomial(n, matrix.ravel() / n, size=resamples).reshape(resamples, k, k)
    average = "macro" if metric.name == "macro_f1" else "micro"
    return np.array([m.f1_from_confusion(c, average=average) for c in counts])


def _index_draws(metric: Metric, predictions, labels, resamples: int, rng) -> np.ndarray:
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


def draws(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any], *, resamples: int,
          rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The metric on each bootstrap resample, and which method computed them."""
    scores = _per_item_scores(metric, predictions, labels)
    if scores is not None:
        return _mean_draws(scores, len(labels), resamples, rng), "multinomial over per-item scores"
    if metric.name in ("macro_f1", "micro_f1"):
        return _confusion_draws(metric, predictions, labels, resamples, rng), "multinomial over confusion cells"
    if metric.name == "rmse":
        squared = (m.as_float_array(predictions) - m.as_float_array(labels)) ** 2
        return np.sqrt(_mean_draws(squared, len(labels), resamples, rng)), "multinomial over squared errors"
    return _index_draws(metric, predictions, labels, resamples, rng), "index resampling"


def bootstrap_interval(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any], *,
                       seed: int, resamples: int = 1000, level: float = 0.95) -> Interval:
    """Percentile interval of the metric over `resamples` bootstrap resamples, seeded."""
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        values, method = draws(metric, predictions, labels, resamples=resamples, rng=rng)
    values = values[np.isfinite(values)]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
    return Interval(metric.score(predictions, labels), float(low), float(high), level, resamples, method)


def paired_differences(values_a: np.ndarray, values_b: np.ndarray, *, seed: int,
                       resamples: int = 1000, statistic: Callable[[np.ndarray], float] = np.mean) -> np.ndarray:
    """Bootstrap of mean(a - b) over items, the same resampled items for both submissions."""
    diff = np.asarray(values_a, float) - np.asarray(values_b, float)
    return _mean_draws(diff, len(diff), resamples, np.random.default_rng(seed))


def item_scores(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """Per-item scores: the metric's own where it is a mean of them; otherwise 1 where the
    prediction equals the label and 0 where not (enough to fingerprint what was scored)."""
    scores = _per_item_scores(metric, predictions, labels)
    if scores is None:
        scores = m.equal_items(predictions, labels)
    return scores


def item_losses(metric: Metric, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """Per-item losses (lower is better), for paired comparisons such as the Ladder: the metric's
    own per-item scores where it is a mean of them (negated when higher is better), squared errors
    for rmse and r2, placement values for AUROC (negated), and misses (1 - hit) for other metrics
    of the whole set such as macro F1."""
    if metric.name in ("rmse", "r2"):
        return (m.as_float_array(predictions) - m.as_float_array(labels)) ** 2
    if metric.name == "auroc":
        return -placements(predictions, labels)
    scores = _per_item_scores(metric, predictions, labels)
    if scores is None:
        return 1.0 - m.equal_items(predictions, labels)
    return -scores if metric.higher_is_better else scores


def placements(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """DeLong's placement values: for a positive, the share of negatives it outscores; for a
    negative, the share of positives that outscore it (ties count half). Their mean over all
    items is the AUROC, so AUROC comparisons can be made item by item."""
    gold, score = m._binary(labels).astype(bool), m.as_float_array(predictions)
    positives, negatives = np.sort(score[gold]), np.sort(score[~gold])
    if len(positives) == 0 or len(negatives) == 0:
        raise m.MetricError("auroc needs both positive and negative labels")
    out = np.empty(len(score))
    below = np.searchsorted(negatives, score[gold], side="left")
    equal = np.searchsorted(negatives, score[gold], side="right") - below
    out[gold] = (below + 0.5 * equal) / len(negatives)
    above = len(positives) - np.searchsorted(positives, score[~gold], side="right")
    equal = np.searchsorted(positives, score[~gold], side="right") - np.searchsorted(positives, score[~gold], side="left")
    out[~gold] = (above + 0.5 * equal) / len(positives)
    return out
