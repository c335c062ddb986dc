"""Bootstrap intervals: reproducible, right on known cases, and as wide as the slow way."""

from __future__ import annotations

import numpy as np
import pytest

from evaluators import bootstrap_interval, get_metric, paired_differences
from evaluators._bootstrap import _index_draws


def classification(n: int, accuracy: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    gold = rng.choice(["a", "b", "c"], size=n).tolist()
    pred = [g if rng.random() < accuracy else "a" for g in gold]
    return pred, gold


def test_the_same_seed_gives_the_same_interval():
    pred, gold = classification(500, 0.8)
    first = bootstrap_interval(get_metric("accuracy"), pred, gold, seed=7)
    again = bootstrap_interval(get_metric("accuracy"), pred, gold, seed=7)
    other = bootstrap_interval(get_metric("accuracy"), pred, gold, seed=8)
    assert first == again and (first.low, first.high) != (other.low, other.high)
    assert first.low <= first.score <= first.high


def test_accuracy_interval_matches_the_normal_approximation():
    pred, gold = classification(20_000, 0.7)
    interval = bootstrap_interval(get_metric("accuracy"), pred, gold, seed=3, resamples=2000)
    p = interval.score
    half = 1.96 * np.sqrt(p * (1 - p) / len(gold))
    assert interval.low == pytest.approx(p - half, abs=0.003)
    assert interval.high == pytest.approx(p + half, abs=0.003)


@pytest.mark.parametrize("name", ["macro_f1", "micro_f1", "accuracy"])
def test_shortcuts_agree_with_index_resampling(name):
    pred, gold = classification(400, 0.75, seed=5)
    metric = get_metric(name)
    fast = bootstrap_interval(metric, pred, gold, seed=11, resamples=2000)
    slow = _index_draws(metric, pred, gold, 2000, np.random.default_rng(12))
    assert fast.high - fast.low == pytest.approx(np.quantile(slow, 0.975) - np.quantile(slow, 0.025), rel=0.15)


def test_regression_and_fallback_metrics_get_intervals():
    rng = np.random.default_rng(2)
    gold = rng.normal(size=300)
    pred = gold + rng.normal(scale=0.3, size=300)
    for name in ("mae", "rmse", "r2"):
        interval = bootstrap_interval(get_metric(name), pred.tolist(), gold.tolist(), seed=1, resamples=300)
        assert interval.low < interval.score < interval.high, name


def test_paired_differences_use_the_same_items():
    a = np.array([1.0, 0.0, 1.0, 1.0] * 50)
    draws = paired_differences(a, a, seed=1)
    assert np.all(draws == 0)
