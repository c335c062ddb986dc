"""Every built-in metric against scikit-learn (a test-only dependency) on generated cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from evaluators import MetricError, get_metric

CLASSES = st.sampled_from(["cat", "dog", "emu", 3])
FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def pairs(element, size=(1, 60)):
    return st.integers(*size).flatmap(
        lambda n: st.tuples(st.lists(element, min_size=n, max_size=n), st.lists(element, min_size=n, max_size=n))
    )


def as_str(values):
    return [str(v) for v in values]


@settings(max_examples=150, deadline=None)
@given(pairs(CLASSES))
def test_classification(case):
    pred, gold = case
    assert get_metric("accuracy").score(pred, gold) == pytest.approx(sk.accuracy_score(as_str(gold), as_str(pred)))
    labels = sorted(set(as_str(gold)) | set(as_str(pred)))
    assert get_metric("macro_f1").score(pred, gold) == pytest.approx(
        sk.f1_score(as_str(gold), as_str(pred), average="macro", labels=labels, zero_division=0)
    )
    assert get_metric("micro_f1").score(pred, gold) == pytest.approx(
        sk.f1_score(as_str(gold), as_str(pred), average="micro", zero_division=0)
    )


@settings(max_examples=150, deadline=None)
@given(pairs(FINITE, size=(2, 60)))
def test_regression(case):
    pred, gold = case
    assert get_metric("mae").score(pred, gold) == pytest.approx(sk.mean_absolute_error(gold, pred))
    assert get_metric("rmse").score(pred, gold) == pytest.approx(np.sqrt(sk.mean_squared_error(gold, pred)))
    if np.var(gold) > 1e-9:
        assert get_metric("r2").score(pred, gold) == pytest.approx(sk.r2_score(gold, pred), abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
            st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n),
        )
    )
)
def test_scores_and_probabilities(case):
    score, gold = case
    if len(set(gold)) == 2:
        assert get_metric("auroc").score(score, gold) == pytest.approx(sk.roc_auc_score(gold, score))
    else:
        with pytest.raises(MetricError):
            get_metric("auroc").score(score, gold)
    assert get_metric("log_loss").score(score, gold) == pytest.approx(
        sk.log_loss(gold, np.clip(score, 1e-15, 1 - 1e-15), labels=[0, 1]), rel=1e-6
    )


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(CLASSES, min_size=1, max_size=5), min_size=n, max_size=n),
            st.lists(CLASSES, min_size=n, max_size=n),
        )
    )
)
def test_top_k(case):
    pred, gold = case
    expected = np.mean([str(g) in as_str(p) for p, g in zip(pred, gold, strict=False)])
    assert get_metric("top_k_accuracy").score(pred, gold) == pytest.approx(expected)


def test_squad_style_text_metrics():
    pred = ["The Eiffel Tower!", "paris", "a cat sat", ""]
    gold = [["Eiffel tower", "tower"], "Paris, France", "the cat sat down", "nothing"]
    assert get_metric("exact_match").score(pred, gold) == pytest.approx(1 / 4)
    f1 = get_metric("token_f1").score(pred, gold)
    expected = (1.0 + 2 * 0.5 * 1 / 1.5 + 2 * 1.0 * (2 / 3) / (1 + 2 / 3) + 0.0) / 4
    assert f1 == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "label", "ok"),
    [
        ("top_k_accuracy", "cat", True),
        ("exact_match", ["a", "b"], True),
        ("exact_match", [], False),
        ("auroc", 1, True),
        ("auroc", 0.5, False),
        ("log_loss", True, True),
    ],
)
def test_labels_are_checked_by_their_own_rule(name, label, ok):
    assert (get_metric(name).validate_label(label) is None) is ok
