"""Built-in metrics. Each is a pure function over parallel lists of predictions and labels."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluators._registry import as_float_array, register_metric


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
)
def accuracy(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    pred = np.array([_canonical(p) for p in predictions], dtype=object)
    gold = np.array([_canonical(g) for g in labels], dtype=object)
    return float(np.mean(pred == gold))


@register_metric(
    name="mae",
    higher_is_better=False,
    description="Mean absolute error between numeric predictions and labels.",
    validate_prediction=_finite_number,
)
def mae(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    return float(np.mean(np.abs(as_float_array(predictions) - as_float_array(labels))))


@register_metric(
    name="rmse",
    higher_is_better=False,
    description="Root mean squared error between numeric predictions and labels.",
    validate_prediction=_finite_number,
)
def rmse(predictions: Sequence[Any], labels: Sequence[Any]) -> float:
    diff = as_float_array(predictions) - as_float_array(labels)
    return float(np.sqrt(np.mean(diff * diff)))
