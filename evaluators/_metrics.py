"""Built-in metrics. Each is a pure function over parallel lists of predictions and labels."""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evaluators import _wholeset as w
from evaluators._aggregation import mean, ratio, whole_set
from evaluators._registry import MetricError, as_float_array, register_metric


def _canonical(value: Any) -> str:
    """JSON text in which equal JSON values are equal strings (1 and 1.0 are one number)."""
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return {k: _normalise(v) for k, v in value.items()}


def _finite_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "prediction must be a number"
    if not math.isfinite(value):
        return "prediction must be a finite number"
    return None


def _scalar_label(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return "prediction must be a string, number, boolean or null"
    if isinstance(value, float) and not math.isfinite(value):
        return "prediction must be a finite number"
    return None


@register_metric(
    name="accuracy",
    higher_is_better=True,
    description="Share of items whose prediction equals the label exactly (JSON equality).",
    validate_prediction=_scalar_label,
    aggregation=mean(lambda p, g: equal_items(p, g)),
)
def accuracy(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(equal_items(predictions, labels)))


def equal_items(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    """Per item, 1.0 where the prediction equals the label (JSON equality: 1 and 1.0 are equal)."""
    pred, gold = _comparable(predictions, labels)
    equal: np.ndarray = (pred == gold).astype(np.float64)
    return equal


@register_metric(
    name="mae",
    higher_is_better=False,
    description="Mean absolute error between numeric predictions and labels.",
    validate_prediction=_finite_number,
    aggregation=mean(lambda p, g: np.abs(as_float_array(p) - as_float_array(g))),
)
def mae(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(np.abs(as_float_array(predictions) - as_float_array(labels))))


@register_metric(
    name="rmse",
    higher_is_better=False,
    description="Root mean squared error between numeric predictions and labels.",
    validate_prediction=_finite_number,
    aggregation=whole_set(
        pseudo_values=lambda p, g: w.rmse_values(_squared_errors(p, g)),
        draws=lambda p, g, b, rng: w.rmse_draws(_squared_errors(p, g), b, rng),
        rule="multinomial over squared errors",
    ),
)
def rmse(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    diff = as_float_array(predictions) - as_float_array(labels)
    return float(np.sqrt(np.mean(diff * diff)))


# -- classification ---------------------------------------------------------------------------------
def _classes(predictions: Sequence[Any], labels: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """Map values (by JSON equality) to class indices shared by predictions and labels."""
    pred, gold = _comparable(predictions, labels)
    index = {c: i for i, c in enumerate(sorted(set(pred) | set(gold)))}
    return (
        np.fromiter(map(index.__getitem__, pred), dtype=np.int64, count=len(pred)),
        np.fromiter(map(index.__getitem__, gold), dtype=np.int64, count=len(gold)),
        len(index),
    )


def _comparable(predictions: Sequence[Any], labels: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    if all(type(v) is str for v in predictions) and all(type(v) is str for v in labels):
        return np.asarray(predictions, dtype=object), np.asarray(labels, dtype=object)
    tag: Callable[[Any], str] = lambda v: ("s:" + v) if type(v) is str else ("j:" + _canonical(v))  # noqa: E731
    return (np.asarray([tag(v) for v in predictions], dtype=object), np.asarray([tag(v) for v in labels], dtype=object))


def _confusion(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    pred, gold, n = _classes(predictions, labels)
    return np.bincount(gold * n + pred, minlength=n * n).reshape(n, n)


def f1_from_confusion(matrix: np.ndarray, *, average: str, gold_classes: np.ndarray | None = None) -> float:
    tp = np.diag(matrix).astype(np.float64)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    if average == "micro":
        denominator = 2 * tp.sum() + fp.sum() + fn.sum()
        return float(2 * tp.sum() / denominator) if denominator else 0.0
    denominator = 2 * tp + fp + fn
    per_class = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = (matrix.sum(axis=1) + matrix.sum(axis=0)) > 0
    return float(per_class[present].mean()) if present.any() else 0.0


@register_metric(
    name="macro_f1",
    higher_is_better=True,
    validate_prediction=_scalar_label,
    aggregation=whole_set(
        pseudo_values=lambda p, g: w.macro_f1_values(*_classes(p, g)),
        draws=lambda p, g, b, rng: w.confusion_draws(_confusion(p, g), b, rng, f1_from_confusion),
        rule="multinomial over confusion cells",
    ),
    description="F1 per class (classes seen in labels or predictions), averaged with equal weight.",
)
def macro_f1(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return f1_from_confusion(_confusion(predictions, labels), average="macro")


@register_metric(
    name="micro_f1",
    higher_is_better=True,
    validate_prediction=_scalar_label,
    # per item: 2 TP / (2 TP + FP + FN); a hit adds 2 to both, a miss adds 0 and 2 (one FP, one FN)
    aggregation=ratio(lambda p, g: np.stack([2 * equal_items(p, g), np.full(len(g), 2.0)], axis=1)),
    description="F1 over all decisions pooled (equals accuracy for single-label classification).",
)
def micro_f1(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return f1_from_confusion(_confusion(predictions, labels), average="micro")


TOP_K = 5


def _ranked_list(value: Any) -> str | None:
    if not isinstance(value, list) or not 1 <= len(value) <= TOP_K:
        return f"prediction must be a list of 1 to {TOP_K} candidate labels, best first"
    return next((_scalar_label(v) for v in value if _scalar_label(v)), None)


@register_metric(
    name="top_k_accuracy",
    higher_is_better=True,
    validate_prediction=_ranked_list,
    validate_label=_scalar_label,
    description=f"Share of items whose label is among the prediction's candidates (at most {TOP_K}).",
    aggregation=mean(lambda p, g: _top_k_hits(p, g)),
)
def top_k_accuracy(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(_top_k_hits(predictions, labels)))


def _top_k_hits(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    return np.fromiter(
        (_canonical(g) in {_canonical(c) for c in p} for p, g in zip(predictions, labels, strict=True)),
        float,
        count=len(labels),
    )


# -- text ---------------------------------------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalise_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "prediction must be a string"


def _gold_text(value: Any) -> str | None:
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return None
    return "prediction must be a string or a non-empty list of acceptable strings"


def _answers(label: Any) -> list[str]:
    return label if isinstance(label, list) else [label]


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalise_answer(prediction).split(), normalise_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@register_metric(
    name="exact_match",
    higher_is_better=True,
    validate_prediction=_text,
    validate_label=_gold_text,
    description="Share of items whose normalised prediction equals a normalised gold answer "
    "(the label is a string or a list of acceptable strings).",
    aggregation=mean(lambda p, g: _exact_matches(p, g)),
)
def exact_match(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(_exact_matches(predictions, labels)))


def _exact_matches(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    return np.fromiter(
        (
            max(normalise_answer(p) == normalise_answer(g) for g in _answers(gold))
            for p, gold in zip(predictions, labels, strict=True)
        ),
        float,
        count=len(labels),
    )


@register_metric(
    name="token_f1",
    higher_is_better=True,
    validate_prediction=_text,
    validate_label=_gold_text,
    description="SQuAD token F1 of the prediction against the best-matching gold answer, averaged.",
    aggregation=mean(lambda p, g: _token_f1s(p, g)),
)
def token_f1(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(_token_f1s(predictions, labels)))


def _token_f1s(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    return np.fromiter(
        (max(_token_f1(p, g) for g in _answers(gold)) for p, gold in zip(predictions, labels, strict=True)),
        float,
        count=len(labels),
    )


def _zero_one(value: Any) -> str | None:
    return None if value in (0, 1) else "prediction must be 0 or 1 (or true or false)"


def _unit_score(value: Any) -> str | None:
    problem = _finite_number(value)
    if problem:
        return problem
    return None if 0 <= value <= 1 else "prediction must be a score from 0 to 1"


def _full_marks(value: Any) -> str | None:
    return None if value == 1 and not isinstance(value, bool) else "label must be 1 (the item's full score)"


@register_metric(
    name="environment_score",
    higher_is_better=True,
    validate_prediction=_unit_score,
    validate_label=_full_marks,
    description="Mean of the per-item scores (0 to 1) that an agent challenge's environment gave its "
    "final state; every label is 1, the full score.",
    aggregation=mean(lambda p, g: as_float_array(p)),
)
def environment_score(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(as_float_array(predictions)))


# -- regression and scores -------------------------------------------------------------------------
@register_metric(
    name="r2",
    higher_is_better=True,
    validate_prediction=_finite_number,
    aggregation=whole_set(pseudo_values=lambda p, g: w.r2_values(as_float_array(p), as_float_array(g))),
    description="Coefficient of determination of numeric predictions (1 is perfect).",
)
def r2(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    y, p = as_float_array(labels), as_float_array(predictions)
    total = np.sum((y - y.mean()) ** 2)
    residual = np.sum((y - p) ** 2)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1 - residual / total)


def _binary(labels: Sequence[Any]) -> np.ndarray:
    gold = np.asarray([1 if g is True or g == 1 else 0 if g is False or g == 0 else -1 for g in labels])
    if (gold < 0).any():
        raise MetricError("labels must be 0/1 or true/false for this metric")
    return gold


@register_metric(
    name="auroc",
    higher_is_better=True,
    validate_prediction=_finite_number,
    validate_label=_zero_one,
    aggregation=whole_set(
        pseudo_values=lambda p, g: w.placements(as_float_array(p), _binary(g)),
        draws=lambda p, g, b, rng: w.delong_draws(as_float_array(p), _binary(g), b, rng),
        rule="DeLong placements, resampled within each class",
    ),
    description="Area under the ROC curve; labels 0/1, the prediction a score (higher: more positive).",
)
def auroc(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    gold, score = _binary(labels), as_float_array(predictions)
    positives, negatives = int(gold.sum()), int(len(gold) - gold.sum())
    if positives == 0 or negatives == 0:
        raise MetricError("auroc needs both positive and negative labels")
    ranks = _average_ranks(score)
    return float((ranks[gold == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    for start, end in zip(starts, ends, strict=False):
        ranks[order[start:end]] = (start + end + 1) / 2
    return ranks


def _probability(value: Any) -> str | None:
    problem = _finite_number(value)
    if problem:
        return problem
    return None if 0 <= value <= 1 else "prediction must be a probability from 0 to 1"


@register_metric(
    name="log_loss",
    higher_is_better=False,
    validate_prediction=_probability,
    validate_label=_zero_one,
    description="Binary cross-entropy; labels 0/1, the prediction the probability of 1 "
    "(clipped to [1e-15, 1 - 1e-15]).",
    aggregation=mean(lambda p, g: _log_losses(p, g)),
)
def log_loss(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(_log_losses(predictions, labels)))


def _log_losses(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    gold = _binary(labels)
    p = np.clip(as_float_array(predictions), 1e-15, 1 - 1e-15)
    losses: np.ndarray = -(gold * np.log(p) + (1 - gold) * np.log(1 - p))
    return losses


def _squared_errors(predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    squared: np.ndarray = (as_float_array(predictions) - as_float_array(labels)) ** 2
    return squared
