"""Validation of a container's predictions file. Messages name lines, never their content."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from evaluators._registry import Metric


class InvalidPredictions(ValueError):
    """The predictions break the protocol; the message is safe to show to the team."""


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 300:
        raise ValueError("number too large")
    return int(text)


def loads_strict(raw: bytes | str) -> Any:
    """JSON without NaN, Infinity, integers too large for a float, lone surrogates, or nesting
    deeper than Python can follow (each raises ValueError)."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_int=_bounded_int)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (RecursionError, UnicodeEncodeError):
        raise ValueError("too deeply nested, or not valid Unicode") from None
    return value


def _parse_line(raw: bytes, number: int) -> tuple[str, Any]:
    try:
        obj = loads_strict(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidPredictions(
            f"line {number}: not valid JSON (NaN, Infinity and numbers beyond a float are refused)"
        ) from None
    if not isinstance(obj, dict) or set(obj) != {"id", "prediction"}:
        raise InvalidPredictions(f"line {number}: must be an object with exactly 'id' and 'prediction'")
    if not isinstance(obj["id"], str):
        raise InvalidPredictions(f"line {number}: 'id' must be a string")
    return obj["id"], obj["prediction"]


def parse_predictions(lines: Iterable[bytes], *, ids: Sequence[str], metric: Metric) -> list[Any]:
    """Return the predictions in the order of `ids`; every id exactly once, nothing else."""
    position = {item_id: index for index, item_id in enumerate(ids)}
    found: list[Any] = [None] * len(ids)
    seen = [False] * len(ids)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        item_id, prediction = _parse_line(raw, number)
        index = position.get(item_id)
        if index is None:
            raise InvalidPredictions(f"line {number}: unknown id")
        if seen[index]:
            raise InvalidPredictions(f"line {number}: duplicate id")
        problem = metric.validate_prediction(prediction)
        if problem:
            raise InvalidPredictions(f"line {number}: {problem}")
        found[index], seen[index] = prediction, True
    missing = seen.count(False)
    if missing:
        raise InvalidPredictions(f"{missing} of {len(ids)} items have no prediction")
    return found
