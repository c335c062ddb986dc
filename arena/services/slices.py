"""Per-slice scores: labels may carry a public `slice` (a language, a domain), and each slice with
at least `MIN_SLICE_ITEMS` items in a split gets its own score and 95% interval, computed by the
metric's declared aggregation on that slice's items alone. Shown beside the primary score; only
the primary score ranks, releases and pays."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import evaluators

MIN_SLICE_ITEMS = 30
MAX_SLICES = 50
MAX_SLICE_LENGTH = 64


def slice_problem(value) -> str | None:
    """Why a label's `slice` is unusable, or None."""
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_SLICE_LENGTH or not value.isprintable():
        return f"'slice' must be a name of 1 to {MAX_SLICE_LENGTH} printable characters"
    return None


def slice_scores(names: Sequence[str | None], interval: Callable[[np.ndarray], evaluators.Interval]) -> dict:
    """{slice: {score, ci_low, ci_high, n_items}} for each slice with enough items; `interval`
    scores the items at the given positions. A slice the metric cannot score alone (AUROC on a
    slice of one class) is left out."""
    groups: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        if name is not None:
            groups.setdefault(name, []).append(position)
    out = {}
    for name in sorted(groups):
        if len(groups[name]) < MIN_SLICE_ITEMS:
            continue
        try:
            found = interval(np.asarray(groups[name]))
        except (evaluators.MetricError, ValueError, TypeError, OverflowError):
            continue
        finite = bool(np.isfinite([found.low, found.high]).all())
        out[name] = {
            "score": found.score,
            "ci_low": found.low if finite else None,
            "ci_high": found.high if finite else None,
            "n_items": len(groups[name]),
        }
    return out
