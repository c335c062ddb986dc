"""The metric registry: a metric is a plain function registered with its metadata."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators._aggregation import Aggregation, check_kind, check_values

ScoreFn = Callable[[Sequence[Any], Sequence[Any]], float]
ValidateFn = Callable[[Any], str | None]


class MetricError(ValueError):
    """A prediction or label cannot be scored by this metric (message is safe to show)."""


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    fn: ScoreFn
    validate_prediction: ValidateFn
    description: str
    validate_label: ValidateFn
    aggregation: Aggregation

    def per_item(self, predictions: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
        """The per-item values of the metric's declared aggregation (see evaluators/_aggregation.py)."""
        with np.errstate(all="ignore"):
            values = self.aggregation.per_item(predictions, labels)
        try:
            return check_values(self.aggregation.kind, values)
        except ValueError as exc:
            raise MetricError(f"{self.name}: {exc}") from None

    def score(self, predictions: Sequence[Any], labels: Sequence[Any]) -> float:
        if len(predictions) != len(labels):
            raise MetricError("predictions and labels differ in length")
        if len(labels) == 0:
            raise MetricError("nothing to score")
        with np.errstate(all="ignore"):
            score = float(self.fn(predictions, labels))
        if not np.isfinite(score):
            raise MetricError(f"{self.name} is not a finite number for these predictions")
        return score


_REGISTRY: dict[str, Metric] = {}


def _accept_any(_value: Any) -> str | None:
    return None


def register_metric(
    *,
    name: str,
    higher_is_better: bool,
    description: str,
    aggregation: Aggregation,
    validate_prediction: ValidateFn = _accept_any,
    validate_label: ValidateFn | None = None,
) -> Callable[[ScoreFn], ScoreFn]:
    """Register `fn` under `name` with how it aggregates (`evaluators.mean(per_item)`,
    `evaluators.ratio(per_item)` or `evaluators.whole_set(...)`); a second metric with the same
    name is refused. Labels are checked like predictions unless `validate_label` says otherwise."""
    if not isinstance(aggregation, Aggregation):
        raise TypeError(f"metric {name!r}: aggregation must be evaluators.mean(...), ratio(...) or whole_set(...)")
    check_kind(aggregation.kind)

    def decorate(fn: ScoreFn) -> ScoreFn:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is registered already")
        _REGISTRY[name] = Metric(
            name,
            higher_is_better,
            fn,
            validate_prediction,
            description,
            validate_label or validate_prediction,
            aggregation,
        )
        return fn

    return decorate


def get_metric(name: str) -> Metric:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise MetricError(f"unknown metric {name!r}; known metrics: {known}") from None


def metric_names() -> list[str]:
    return sorted(_REGISTRY)


def as_float_array(values: Sequence[Any]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


ENTRY_POINT_GROUP = "arena.metrics"


def load_plugins() -> list[str]:
    """Import the organisers' own metrics, installed as packages declaring entry points in the
    group `arena.metrics`: importing an entry point's target registers its metrics (with
    `@register_metric`). Two entry points with one name: the first wins, the other is skipped.
    They run in the trusted scorer, never in a sandbox. Returns the entry points loaded."""
    from importlib.metadata import entry_points

    loaded = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in _LOADED:
            continue
        point.load()
        _LOADED.add(point.name)
        loaded.append(point.name)
    return loaded


_LOADED: set[str] = set()
