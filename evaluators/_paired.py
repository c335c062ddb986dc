"""Paired bootstrap tests from published sufficient statistics.

A paired comparison of two submissions on the same items looks at the per-item differences
d_i = loss_a_i - loss_b_i ("how much better b is on item i"). A bootstrap resample of the items is
a multinomial draw over the distinct values of d, so the distinct values and their counts (binned
into at most `MAX_BINS` quantile bins where there are more) are all a test needs. They say nothing
about which item is which, so they can be published: anyone can rerun the test with the same
seed and get the same p-value, bit for bit, with the same numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators._aggregation import MAX_BINS
from evaluators._registry import Metric

ALTERNATIVES = ("greater", "two-sided")


@dataclass(frozen=True)
class Differences:
    """The multiset of per-item differences, as (value, count) pairs: what a paired test needs."""

    values: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.counts) / self.n) if self.n else 0.0

    def as_dict(self) -> dict[str, list[float] | list[int]]:
        return {"values": list(self.values), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Differences:
        values, counts = data["values"], data["counts"]
        if len(values) != len(counts) or any(not isinstance(c, int) or c < 1 for c in counts):
            raise ValueError("differences need as many values as counts, each count a whole number >= 1")
        return cls(tuple(float(v) for v in values), tuple(int(c) for c in counts))


def differences(improvement: np.ndarray) -> Differences:
    """Summarise per-item improvements (positive: the challenger is better on that item)."""
    values = np.asarray(improvement, dtype=np.float64)
    if len(values) == 0:
        return Differences((), ())
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= MAX_BINS:
        return Differences(tuple(map(float, distinct)), tuple(map(int, counts)))
    ordered = np.sort(values)
    edges = np.linspace(0, len(ordered), MAX_BINS + 1).astype(np.int64)
    sizes = np.diff(edges)
    means = np.add.reduceat(ordered, edges[:-1]) / sizes
    return Differences(tuple(map(float, means)), tuple(map(int, sizes)))


def derive_seed(*parts: str) -> int:
    """A seed anyone can derive from public names, so no one can shop for a lucky one."""
    return int.from_bytes(hashlib.sha256("|".join(("arena/paired/v1", *parts)).encode()).digest()[:8], "big")


def p_value(found: Differences, *, seed: int, resamples: int, alternative: str = "greater") -> float:
    """Bootstrap p-value that the mean difference is not above zero ("greater"), or not zero
    ("two-sided"); (1 + extreme) / (1 + resamples), so it is never exactly 0."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}")
    n = found.n
    if n == 0:
        return 1.0
    values = np.asarray(found.values, dtype=np.float64)
    probabilities = np.asarray(found.counts, dtype=np.float64) / n
    draws = np.random.default_rng(seed).multinomial(n, probabilities, size=resamples) @ values / n
    at_most = (1 + int(np.count_nonzero(draws <= 0))) / (1 + resamples)
    if alternative == "greater":
        return float(at_most)
    at_least = (1 + int(np.count_nonzero(draws >= 0))) / (1 + resamples)
    return float(min(1.0, 2 * min(at_most, at_least)))


def loss_at_score(metric: Metric, score: float) -> float:
    """The per-item loss (as in `item_losses`) of a submission scoring `score` on every item:
    every declared aggregation gives per-item values whose mean is the metric, so a fixed
    baseline score is compared item by item as the constant vector of this loss."""
    return -float(score) if metric.higher_is_better else float(score)
