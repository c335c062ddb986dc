"""The public/private split and the Ladder (Blum & Hardt, 2015).

The split assigns each item by a keyed hash, so nobody without the key can tell which items are
public. The Ladder releases a team's new public score only when it beats the team's released best
by more than one standard error of the paired per-item loss difference, and releases it rounded to
the 1/n grid; smaller moves tell the team nothing, which defeats adaptive overfitting to the public
items (the "boosting attack").

Where differences are sparse the standard error says little: one item answered correctly moves
the mean by 1/n, just above its own standard error (sqrt(1 - 1/n) / n), so a team could learn
item by item which items are public and what their labels are. Two further conditions close
that: at least `MIN_CHANGED_ITEMS` items must differ (changes on up to five items never move a
board), and an exact one-sided sign test on the items that differ must find more improved than
worsened items at the Ladder's own level (one standard error, p <= `SIGN_TEST_LEVEL`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
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
    draws = np.array(
        [int.from_bytes(hmac.new(key, i.encode(), hashlib.sha256).digest()[:8], "big") for i in ids], dtype=np.uint64
    )
    mask = np.zeros(n, dtype=bool)
    mask[np.argsort(draws, kind="stable")[:public]] = True
    return mask


MIN_CHANGED_ITEMS = 6
SIGN_TEST_LEVEL = 0.1587  # P(Z > 1): the one-standard-error step, as an exact test
EXACT_UP_TO = 5000  # beyond this many differing items, the sign test's normal approximation


def sign_test_p(improved: int, worsened: int) -> float:
    """One-sided p-value that improvements are no more likely than worsenings among the items
    that differ: P(X >= improved) for X ~ Binomial(improved + worsened, 1/2); exact up to
    `EXACT_UP_TO` items, then the normal approximation with continuity correction."""
    k = improved + worsened
    if k == 0:
        return 1.0
    if k <= EXACT_UP_TO:
        # `2**k` with a variable k is typed Any (a negative k would make it a float)
        return float(sum(math.comb(k, i) for i in range(improved, k + 1)) / 2**k)
    z = (improved - 0.5 - k / 2) / math.sqrt(k / 4)
    return 0.5 * math.erfc(z / math.sqrt(2))


def ladder_improves(best_losses: np.ndarray, new_losses: np.ndarray) -> bool:
    """The Ladder's test: mean(new - best) < -std(new - best) / sqrt(n), with at least
    `MIN_CHANGED_ITEMS` items differing and the exact sign test on them at `SIGN_TEST_LEVEL`."""
    diff = np.asarray(new_losses, float) - np.asarray(best_losses, float)
    if diff.size == 0:
        return False
    improved, worsened = int(np.count_nonzero(diff < 0)), int(np.count_nonzero(diff > 0))
    if improved + worsened < MIN_CHANGED_ITEMS or sign_test_p(improved, worsened) > SIGN_TEST_LEVEL:
        return False
    return bool(diff.mean() < -diff.std() / np.sqrt(diff.size))


def on_grid(score: float, n: int) -> float:
    """The released value: the score rounded to the 1/n grid."""
    return round(score * n) / n if n else score
