"""The aggregation contract: every statistic reads the metric's declared rule."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import evaluators
from evaluators import get_metric, interval_from_values, item_losses, metric_names
from evaluators._bootstrap import _index_draws, bootstrap_interval

BUILT_IN = [
    "accuracy",
    "auroc",
    "exact_match",
    "log_loss",
    "macro_f1",
    "mae",
    "micro_f1",
    "r2",
    "rmse",
    "token_f1",
    "top_k_accuracy",
]
WORDS = ["red", "blue", "green", "the cat", "a dog", "sun", "moon", "paris", "rome"]


def data_for(name: str, n: int, seed: int):
    """Predictions and labels of moderate quality for each kind of metric."""
    rng = np.random.default_rng(seed)
    if name in ("accuracy", "macro_f1", "micro_f1"):
        gold = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]).tolist()
        return [g if rng.random() < 0.7 else str(rng.choice(["a", "b", "c", "d"])) for g in gold], gold
    if name == "top_k_accuracy":
        gold = rng.choice(list("abcdef"), size=n).tolist()
        return [list(rng.choice(list("abcdef"), size=2, replace=False)) for _ in gold], gold
    if name in ("exact_match", "token_f1"):
        gold = rng.choice(WORDS, size=n).tolist()
        return [g if rng.random() < 0.5 else f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for g in gold], gold
    if name in ("mae", "rmse", "r2"):
        gold = rng.normal(size=n)
        return (gold + rng.normal(scale=0.7, size=n)).tolist(), gold.tolist()
    gold = (rng.random(n) < 0.4).astype(int)
    if name == "auroc":
        return (gold + rng.normal(scale=1.0, size=n)).tolist(), gold.tolist()
    return np.clip(0.3 + 0.4 * gold + rng.normal(scale=0.2, size=n), 0.01, 0.99).tolist(), gold.tolist()


def test_every_built_in_metric_declares_its_aggregation():
    assert set(BUILT_IN) <= set(metric_names())
    kinds = {name: get_metric(name).aggregation.kind for name in BUILT_IN}
    assert kinds["micro_f1"] == "ratio" and kinds["auroc"] == kinds["macro_f1"] == "whole_set"
    assert kinds["accuracy"] == kinds["token_f1"] == "mean"


def test_no_statistic_branches_on_a_metric_name():
    from evaluators import _bootstrap, _ladder, _paired

    for module in (_bootstrap, _paired, _ladder):
        source = inspect.getsource(module)
        assert ".name ==" not in source and ".name in" not in source, module.__name__
        for name in BUILT_IN:
            assert f'"{name}"' not in source, (module.__name__, name)


@pytest.mark.parametrize("name", BUILT_IN)
@settings(max_examples=3, deadline=None, derandomize=True)
@given(n=st.integers(min_value=60, max_value=240), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_declared_interval_covers_the_score_and_matches_an_index_bootstrap(name, n, seed):
    metric = get_metric(name)
    pred, gold = data_for(name, n, seed)
    found = bootstrap_interval(metric, pred, gold, seed=seed, resamples=1000)
    assert found.low <= found.score <= found.high
    assert found.score == pytest.approx(metric.score(pred, gold))
    plain = _index_draws(metric, pred, gold, 1000, np.random.default_rng(seed + 1))
    low, high = np.nanquantile(plain, [0.025, 0.975])
    # Monte Carlo error of a 2.5% quantile from 1,000 resamples is about 2% of the width, per
    # side; whole-set rules linearise, which adds a little more on small sets.
    tolerance = 0.2 * (high - low) + 1e-12
    assert abs(found.low - low) <= tolerance, (found, low, high)
    assert abs(found.high - high) <= tolerance, (found, low, high)


@pytest.mark.parametrize("name", BUILT_IN)
def test_paired_values_average_to_the_metric(name):
    metric = get_metric(name)
    pred, gold = data_for(name, 150, 4)
    losses = item_losses(metric, pred, gold)
    sign = -1 if metric.higher_is_better else 1
    assert sign * losses.mean() == pytest.approx(metric.score(pred, gold), abs=1e-9)
    assert evaluators.loss_at_score(metric, metric.score(pred, gold)) == pytest.approx(losses.mean())


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    n=st.integers(min_value=30, max_value=400),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    kind=st.sampled_from(["mean", "ratio"]),
)
def test_an_interval_from_per_item_values_matches_an_index_bootstrap(n, seed, kind):
    rng = np.random.default_rng(seed)
    values = rng.random(n) if kind == "mean" else np.stack([rng.integers(0, 3, n), rng.integers(1, 4, n)], axis=1)
    values = evaluators.check_values(kind, values)
    found = interval_from_values(kind, values, seed=seed)
    assert found.low <= found.score <= found.high
    assert found.score == pytest.approx(evaluators.point(kind, values))
    picks = rng.integers(0, n, (1000, n))
    plain = (
        values[picks].mean(axis=1) if kind == "mean" else values[picks, 0].sum(axis=1) / values[picks, 1].sum(axis=1)
    )
    low, high = np.quantile(plain, [0.025, 0.975])
    assert abs(found.low - low) <= 0.2 * (high - low) and abs(found.high - high) <= 0.2 * (high - low)


def test_a_ratio_of_many_distinct_pairs_is_binned_and_still_right():
    rng = np.random.default_rng(3)
    values = np.stack([rng.random(50_000), 0.5 + rng.random(50_000)], axis=1)
    found = interval_from_values("ratio", values, seed=1)
    picks = rng.integers(0, len(values), (300, len(values)))
    plain = values[picks, 0].sum(axis=1) / values[picks, 1].sum(axis=1)
    assert found.high - found.low == pytest.approx(np.quantile(plain, 0.975) - np.quantile(plain, 0.025), rel=0.2)


@pytest.mark.parametrize(
    "values, kind, problem",
    [
        ([1.0, float("nan")], "mean", "finite"),
        ([], "mean", "finite"),
        ([[1, 0], [1, 0]], "ratio", "positive sum"),
        ([[1, -1], [1, 2]], "ratio", ">= 0"),
        ([1.0, 2.0], "ratio", "pairs"),
        ([[1.0, 2.0]], "mean", "one number"),
    ],
)
def test_per_item_values_are_checked(values, kind, problem):
    with pytest.raises(ValueError, match=problem):
        evaluators.check_values(kind, np.asarray(values, dtype=float))


def test_registering_without_a_declared_aggregation_is_refused():
    with pytest.raises(TypeError, match="aggregation"):
        evaluators.register_metric(name="undeclared", higher_is_better=True, description="x")
    with pytest.raises(TypeError, match="aggregation"):
        evaluators.register_metric(name="undeclared", higher_is_better=True, description="x", aggregation="mean")
