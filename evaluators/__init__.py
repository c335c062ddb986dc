"""Pure metrics: registered functions of (predictions, labels) -> score, each with its declared
aggregation (`mean`, `ratio` or `whole_set`; see evaluators/_aggregation.py), which every
statistic reads.

Nothing here reads the environment, prints, or knows about the web or the database.
"""

from evaluators import _metrics  # noqa: F401,E402  (registers the built-in metrics)
from evaluators._aggregation import (
    KINDS,
    Aggregation,
    check_values,
    fingerprint_values,
    mean,
    paired_values,
    point,
    ratio,
    whole_set,
)
from evaluators._bootstrap import (  # noqa: E402
    Interval,
    bootstrap_interval,
    interval_from_values,
    item_losses,
    item_scores,
    losses_from_values,
    paired_differences,
)
from evaluators._ladder import ladder_improves, on_grid, sign_test_p, split_mask  # noqa: E402
from evaluators._paired import Differences, derive_seed, differences, loss_at_score, p_value  # noqa: E402
from evaluators._predictions import InvalidPredictions, loads_strict, parse_predictions
from evaluators._registry import (
    Metric,
    MetricError,
    get_metric,
    load_plugins,
    metric_names,
    register_metric,
)
from evaluators._scores import InvalidScores, ScoreRule, ScoreTable, parse_scores

__all__ = [
    "KINDS",
    "InvalidScores",
    "ScoreRule",
    "ScoreTable",
    "parse_scores",
    "Aggregation",
    "check_values",
    "fingerprint_values",
    "interval_from_values",
    "losses_from_values",
    "mean",
    "paired_values",
    "point",
    "ratio",
    "sign_test_p",
    "whole_set",
    "Differences",
    "derive_seed",
    "differences",
    "loss_at_score",
    "p_value",
    "Interval",
    "InvalidPredictions",
    "Metric",
    "MetricError",
    "bootstrap_interval",
    "get_metric",
    "item_losses",
    "item_scores",
    "ladder_improves",
    "load_plugins",
    "loads_strict",
    "metric_names",
    "on_grid",
    "paired_differences",
    "parse_predictions",
    "register_metric",
    "split_mask",
]
