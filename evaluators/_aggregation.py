"""The aggregation contract: how a metric turns per-item results into one number.

Every metric declares, when it is registered, one of three rules, and every statistic (the
bootstrap interval, paired tests, the Ladder, KPI tests, rank bands) reads that declaration; none
looks at a metric's name.

- `mean`: the metric is the mean of per-item scores (accuracy, MAE, token F1 ...).
- `ratio`: the metric is sum(numerator) / sum(denominator) over per-item pairs (micro F1 ...).
- `whole_set`: the metric is a function of the whole set (AUROC, macro F1, R² ...). It brings its
  own resampling rule for intervals, and per-item *pseudo-values*: values whose mean is the
  metric and whose differences between two submissions linearise the metric's difference
  (DeLong placements for AUROC, delta-method values otherwise).

For every rule, `paired_values` gives per-item values whose mean is the metric: paired tests
compare two submissions item by item on them, and a fixed score is the constant vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("mean", "ratio", "whole_set")
MAX_BINS = 2048

PerItemFn = Callable[[Sequence[Any], Sequence[Any]], np.ndarray]
DrawFn = Callable[[Sequence[Any], Sequence[Any], int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Aggregation:
    """A metric's declared rule. `per_item(predictions, labels)` gives, for `mean`, the (n,)
    per-item scores; for `ratio`, the (n, 2) numerators and denominators; for `whole_set`, the
    (n,) pseudo-values. A `whole_set` rule may bring `draws(predictions, labels, resamples, rng)`,
    the metric on each resample (default: resampling item indices)."""

    kind: str
    per_item: PerItemFn
    draws: DrawFn | None = None
    rule: str = ""


def mean(per_item: PerItemFn) -> Aggregation:
    return Aggregation("mean", per_item, rule="multinomial over per-item scores")


def ratio(per_item: PerItemFn) -> Aggregation:
    return Aggregation("ratio", per_item, rule="multinomial over per-item (numerator, denominator)")


def whole_set(*, pseudo_values: PerItemFn, draws: DrawFn | None = None, rule: str = "index resampling") -> Aggregation:
    return Aggregation("whole_set", pseudo_values, draws=draws, rule=rule)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"aggregation must be one of {', '.join(KINDS)}, not {kind!r}")
    return kind


# -- per-item values --------------------------------------------------------------------------------
def check_values(kind: str, values: np.ndarray) -> np.ndarray:
    """The per-item values as float64, shaped for their rule; ValueError when they cannot be."""
    values = np.asarray(values, dtype=np.float64)
    if kind == "ratio":
        if values.ndim != 2 or values.shape[1] != 2:
            raise ValueError("a ratio metric's per-item values are (numerator, denominator) pairs")
        if (values[:, 1] < 0).any() or values[:, 1].sum() <= 0:
            raise ValueError("denominators must be >= 0 with a positive sum")
    elif values.ndim != 1:
        raise ValueError("per-item values must be one number per item")
    if len(values) == 0 or not np.isfinite(values).all():
        raise ValueError("per-item values must be finite, at least one")
    return values


def point(kind: str, values: np.ndarray) -> float:
    """The metric from its per-item values."""
    if kind == "ratio":
        return float(values[:, 0].sum() / values[:, 1].sum())
    return float(values.mean())


def paired_values(kind: str, values: np.ndarray) -> np.ndarray:
    """Per-item values whose mean is the metric: the scores themselves for `mean` and the
    pseudo-values of `whole_set`; for `ratio`, R + (num_i - R den_i) / mean(den), the delta
    method's linearisation of the ratio R."""
    if kind != "ratio":
        return values
    num, den = values[:, 0], values[:, 1]
    r = num.sum() / den.sum()
    linearised: np.ndarray = r + (num - r * den) / den.mean()
    return linearised


def fingerprint_values(kind: str, values: np.ndarray) -> np.ndarray:
    """One number per item for the published digest: the score, num/den (0 where den is 0), or
    the pseudo-value."""
    if kind != "ratio":
        return values
    num, den = values[:, 0], values[:, 1]
    quotients: np.ndarray = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return quotients


# -- resampling --------------------------------------------------------------------------------------
def bins(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bin means, bin probabilities): exact when there are few distinct values, otherwise
    `MAX_BINS` quantile bins (which moves an interval by far less than its own noise)."""
    order = np.sort(values)  # one sort serves both cases
    starts = np.concatenate(([0], np.flatnonzero(order[1:] != order[:-1]) + 1))
    if len(starts) <= MAX_BINS:
        counts = np.diff(np.append(starts, len(order)))
        return order[starts], counts / counts.sum()
    edges = np.linspace(0, len(order), MAX_BINS + 1).astype(np.int64)
    sizes = np.diff(edges)
    return np.add.reduceat(order, edges[:-1]) / sizes, sizes / sizes.sum()


def mean_draws(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The mean of `values` on each bootstrap resample: a multinomial draw over distinct values."""
    n = len(values)
    means, probabilities = bins(values)
    draws: np.ndarray = rng.multinomial(n, probabilities, size=resamples) @ means / n
    return draws


def _ratio_bins(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bin sums of (num, den) divided by bin sizes, bin probabilities); exact over distinct pairs
    when there are few, otherwise quantile bins of the linearised value num - R den."""
    keys, counts = np.unique(values[:, 0] + 1j * values[:, 1], return_counts=True)  # far faster than axis=0
    if len(keys) <= MAX_BINS:
        return np.stack([keys.real, keys.imag], axis=1), counts / counts.sum()
    r = values[:, 0].sum() / values[:, 1].sum()
    ordered = values[np.argsort(values[:, 0] - r * values[:, 1], kind="stable")]
    edges = np.linspace(0, len(ordered), MAX_BINS + 1).astype(np.int64)
    sizes = np.diff(edges)
    return np.add.reduceat(ordered, edges[:-1], axis=0) / sizes[:, None], sizes / sizes.sum()


def ratio_draws(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    pairs, probabilities = _ratio_bins(values)
    counts = rng.multinomial(len(values), probabilities, size=resamples)
    with np.errstate(all="ignore"):
        draws: np.ndarray = (counts @ pairs[:, 0]) / (counts @ pairs[:, 1])
    return draws


def draws_of(kind: str, values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The metric on each bootstrap resample of items, from its `mean` or `ratio` values."""
    if kind == "mean":
        return mean_draws(values, resamples, rng)
    if kind == "ratio":
        return ratio_draws(values, resamples, rng)
    raise ValueError("a whole-set metric resamples by its own rule, not from per-item values")
