"""Geometry for the SVG charts drawn on the server: leaderboard whiskers and team histories."""

from __future__ import annotations

WIDTH = 150


def whiskers(board: dict, baseline: float | None = None) -> dict:
    """x positions (5-145 px) of each entry's interval and score, and of the baseline, on one scale."""
    values = [v for e in board["entries"] for v in (e["ci_low"], e["ci_high"], e["score"]) if v is not None]
    if baseline is not None:
        values.append(baseline)
    if not values:
        return {"entries": {}, "baseline": None}
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(5 + (WIDTH - 10) * (value - low) / span, 1)

    return {
        "entries": {
            e["submission_id"]: {"low": x(e["ci_low"]), "high": x(e["ci_high"]), "score": x(e["score"])}
            for e in board["entries"]
            if e["ci_low"] is not None
        },
        "baseline": x(baseline) if baseline is not None else None,
    }


def history_chart(points: list[dict], *, higher: bool, width: int = 600, height: int = 220) -> dict | None:
    """A step line of the team's best released score over time."""
    if not points:
        return None
    best, steps = None, []
    for point in points:
        score = point["score"]
        if best is None or (score > best if higher else score < best):
            best = score
        steps.append((point["at"], best))
    scores = [s for _, s in steps]
    low, high = min(scores), max(scores)
    span = (high - low) or 1.0
    left, right, top, bottom = 60, width - 20, 20, height - 40
    n = len(steps)

    def xy(index: int, score: float) -> tuple[float, float]:
        x = left + (right - left) * (index / (n - 1) if n > 1 else 0.5)
        y = bottom - (bottom - top) * ((score - low) / span if high > low else 0.5)
        return round(x, 1), round(y, 1)

    coords = [xy(i, s) for i, (_, s) in enumerate(steps)]
    path = []
    for i, (x, y) in enumerate(coords):
        path.append(f"{x},{y}" if i == 0 else f"{x},{coords[i - 1][1]} {x},{y}")
    return {
        "width": width,
        "height": height,
        "points": " ".join(path),
        "dots": coords,
        "labels": [{"x": x, "at": at, "score": s} for (x, _), (at, s) in zip(coords, steps, strict=False)],
        "low": low,
        "high": high,
        "left": left,
        "right": right,
        "top": top,
        "bottom": bottom,
    }
