"""A challenge's scorer as declared in challenge.yaml (`scorer:`), and the metric it stands for.

Pure: reads nothing but the values given. Running the scorer is arena/evaluation/scorer.py.
"""

from __future__ import annotations

import re

import evaluators
from arena.errors import BadRequest

SCORER_KEYS = {"image", "aggregation", "higher_is_better", "range", "secondary", "limits"}
SCORER_LIMITS = ("time_limit_seconds", "memory_mb", "cpus", "pids", "gpus")
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_SECONDARY = 5


def _fail(message: str) -> BadRequest:
    return BadRequest(f"challenge bundle: scorer.{message}")


# -- the declaration in challenge.yaml ------------------------------------------------------------
def parse_scorer(given, *, limits: dict, check_limit) -> dict | None:
    """The `scorer:` block, checked; None when the challenge has none. `check_limit(name, value)`
    is the bundle's own check of one limit; the scorer's limits default to the challenge's."""
    if given is None:
        return None
    if not isinstance(given, dict) or set(map(str, given)) - SCORER_KEYS:
        raise _fail(f"must be a mapping of {', '.join(sorted(SCORER_KEYS))}")
    image = given.get("image")
    if not isinstance(image, str) or not 1 <= len(image) <= 300:
        raise _fail("image must name the scorer's image (a local image the CLI uploads, or its sha256: digest)")
    kind = given.get("aggregation", "mean")
    if kind not in ("mean", "ratio"):
        raise _fail("aggregation must be 'mean' (per-item scores) or 'ratio' (per-item numerator and denominator)")
    higher = given.get("higher_is_better", True)
    if not isinstance(higher, bool):
        raise _fail("higher_is_better must be true or false")
    return {
        "image": image,
        "aggregation": kind,
        "higher_is_better": higher,
        "range": _range(given.get("range")),
        "secondary": _secondary(given.get("secondary")),
        "limits": _limits(given.get("limits"), limits, check_limit),
    }


def _range(given) -> list[float]:
    if given is None:
        return [0.0, 1.0]
    if (
        not isinstance(given, list)
        or len(given) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) or abs(v) > 1e12 for v in given)
        or not given[0] < given[1]
    ):
        raise _fail("range must be [low, high], two numbers with low < high (default [0, 1])")
    return [float(given[0]), float(given[1])]


def _secondary(given) -> list[str]:
    given = given or []
    if (
        not isinstance(given, list)
        or len(given) > MAX_SECONDARY
        or not all(isinstance(n, str) and NAME_RE.fullmatch(n) for n in given)
        or len(set(given)) != len(given)
    ):
        raise _fail(
            f"secondary must list at most {MAX_SECONDARY} distinct names of lowercase letters, digits and underscores"
        )
    return list(given)


def _limits(given, challenge_limits: dict, check_limit) -> dict:
    given = given or {}
    if not isinstance(given, dict) or set(map(str, given)) - set(SCORER_LIMITS):
        raise _fail(f"limits may set {', '.join(SCORER_LIMITS)} (each defaults to the challenge's)")
    return {name: check_limit(name, given[name]) if name in given else challenge_limits[name] for name in SCORER_LIMITS}


def primary_name(doc: dict) -> str:
    """A scorer's primary score is named by `metric` (default `score`); not a built-in's name."""
    name = doc.get("metric") or "score"
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in evaluators.metric_names():
        raise BadRequest(
            "challenge bundle: with a scorer, 'metric' names its primary score: lowercase letters, "
            "digits and underscores, not the name of a built-in metric"
        )
    return name


def _accept(_value) -> str | None:
    return None


def _not_here(*_args):
    raise evaluators.MetricError("this challenge is scored by its scoring container")


def challenge_metric(*, metric: str, scorer: dict | None) -> evaluators.Metric:
    """The challenge's primary metric: the built-in one, or what its scorer declares (any JSON
    prediction is accepted; only the scorer can score it)."""
    if scorer is None:
        return evaluators.get_metric(metric)
    rule = evaluators.Aggregation(scorer["aggregation"], _not_here, rule="scoring container")
    return evaluators.Metric(
        metric,
        scorer["higher_is_better"],
        _not_here,
        _accept,
        "scored by the organiser's scoring container",
        _accept,
        rule,
    )


def metric_of(challenge) -> evaluators.Metric:
    """The primary metric of a challenge row (built-in, or its scorer's)."""
    return challenge_metric(metric=challenge.metric, scorer=challenge.scorer)
