"""The public/private split and the Ladder (Blum & Hardt, 2015).

The split assigns each item by a keyed hash, so nobody without the key can tell which items are
public. The Ladder releases a team's new public score only when it beats the team's released best
by more than one standard error of the paired per-item loss difference, and releases it rounded to
the 1/n grid; smaller moves tell the team nothing, which defeats adaptive overfitting to the public
items (the "boosting attack").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np


def split_mask(ids: Sequence[str], *, key: bytes, public_fraction: float) -> np.ndarray:
    """True for the public items: the round(fraction * n) items with the smallest keyed hash
    (at least one and, from two items on, at most n - 1)."""
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if n == 1:
        return np.ones(1, dtype=bool)
    public = min(max(1, round(public_fraction * n)), n - 1)
    draws = np.array([int.from_bytes(hmac.new(key, i.encode(), hashlib.sha256).digest()[:8], "big")
                      for i in ids], dtype=np.uint64)
    mask = np.zeros(n, dtype=bool)
    mask[np.argsort(draws, kind="stable")[:public]] = True
    return mask


def ladder_improves(best_losses: np.ndarray, new_losses: np.ndarray) -> bool:
    """The parameter-free Ladder's test: mean(new - best) < -std(new - best) / sqrt(n)."""
    diff = np.asarray(new_losses, float) - np.asarray(best_losses, float)
    if diff.size == 0:
        return False
    return bool(diff.mean() < -diff.std() / np.sqrt(diff.size))


def on_grid(score: float, n: int) -> float:
    """The released value: the score rounded to the 1/n grid."""
    return round(score * n) / n if n else score
