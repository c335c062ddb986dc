"""Validation of a scoring container's /output/scores.jsonl (container protocol v3).

One line per item: {"id", "score"} for a `mean` scorer, {"id", "numerator", "denominator"} for a
`ratio` scorer, each optionally with "secondary": {name: number} for the declared secondary
scores. Every item exactly once, nothing else, finite numbers within the declared range.
Messages name lines and ids' positions, never labels or what the scorer wrote.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluators._predictions import loads_strict

FIELDS = {"mean": ("score",), "ratio": ("numerator", "denominator")}


class InvalidScores(ValueError):
    """The scorer's output breaks protocol v3; the message is for the organiser."""


@dataclass(frozen=True)
class ScoreTable:
    """Per-item values in the order of the item ids: (n,) for `mean`, (n, 2) for `ratio`."""

    kind: str
    values: np.ndarray
    secondary: dict[str, np.ndarray] = field(default_factory=dict)

    def take(self, picks: np.ndarray) -> ScoreTable:
        return ScoreTable(self.kind, self.values[picks], {k: v[picks] for k, v in self.secondary.items()})


@dataclass(frozen=True)
class ScoreRule:
    kind: str  # mean | ratio
    low: float
    high: float
    secondary: tuple[str, ...] = ()


def _number(value: object, where: str, rule: ScoreRule, *, nonnegative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidScores(f"{where} must be a finite number")
    if not rule.low <= value <= rule.high or (nonnegative and value < 0):
        raise InvalidScores(f"{where} is outside the declared range [{rule.low:g}, {rule.high:g}]")
    return float(value)


def _secondary(obj: dict[str, Any], number: int, rule: ScoreRule) -> dict[str, float]:
    given = obj.get("secondary", {})
    if not isinstance(given, dict) or set(given) - set(rule.secondary):
        raise InvalidScores(f"line {number}: 'secondary' must map declared secondary score names to numbers")
    out = {}
    for name in rule.secondary:
        value = given.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidScores(f"line {number}: secondary score {name!r} must be a finite number")
        out[name] = float(value)
    return out


def _parse_line(raw: bytes, number: int, rule: ScoreRule) -> tuple[str, tuple[float, ...], dict[str, float]]:
    try:
        obj = loads_strict(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidScores(f"line {number}: not valid JSON (NaN and Infinity are refused)") from None
    fields = FIELDS[rule.kind]
    allowed = {"id", *fields, *(("secondary",) if rule.secondary else ())}
    if not isinstance(obj, dict) or not {"id", *fields} <= set(obj) <= allowed:
        keys = ", ".join(repr(k) for k in ("id", *fields))
        raise InvalidScores(
            f"line {number}: must be an object with {keys}"
            + (" and 'secondary'" if rule.secondary else "")
            + ", nothing else"
        )
    if not isinstance(obj["id"], str):
        raise InvalidScores(f"line {number}: 'id' must be a string")
    values = tuple(_number(obj[f], f"line {number}: {f!r}", rule, nonnegative=f == "denominator") for f in fields)
    return obj["id"], values, _secondary(obj, number, rule) if rule.secondary else {}


def parse_scores(lines: Iterable[bytes], *, ids: Sequence[str], rule: ScoreRule) -> ScoreTable:
    """The per-item scores in the order of `ids`; every id exactly once, nothing else."""
    position = {item_id: index for index, item_id in enumerate(ids)}
    width = len(FIELDS[rule.kind])
    values = np.full((len(ids), width), np.nan)
    secondary = {name: np.full(len(ids), np.nan) for name in rule.secondary}
    seen = np.zeros(len(ids), dtype=bool)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        item_id, found, extra = _parse_line(raw, number, rule)
        index = position.get(item_id)
        if index is None:
            raise InvalidScores(f"line {number}: an id that is not one of the items")
        if seen[index]:
            raise InvalidScores(f"line {number}: an item scored twice")
        values[index], seen[index] = found, True
        for name, value in extra.items():
            secondary[name][index] = value
    missing = int((~seen).sum())
    if missing:
        raise InvalidScores(f"{missing} of {len(ids)} items have no score")
    if rule.kind == "ratio" and values[:, 1].sum() <= 0:
        raise InvalidScores("the denominators sum to 0: the ratio is undefined")
    return ScoreTable(rule.kind, values[:, 0] if width == 1 else values, secondary)
