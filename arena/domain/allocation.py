"""Reward allocation for a closed round: pure functions of the standings and the rules, so anyone
can recompute them from the public log. Amounts are whole units (euro cents, GPU-minutes),
rounded by largest remainder so they always sum exactly to the pool.

Rounding: when a pool cannot be split exactly, the leftover units go to the largest remainders;
among equal remainders, to the better score, and among equal scores to the name that sorts first.
So teams that share a prize equally may differ by one unit at most (one cent, one GPU-minute), in
a public, deterministic order that follows the scores: swap two tied teams' results and their
amounts swap too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

RULES = ("winner_take_all", "rank_shares", "rank_band_split", "proportional")


@dataclass(frozen=True)
class Standing:
    team: str
    score: float
    rank_band: int
    qualifies: bool  # beat the KPI baseline significantly, and is not eliminated
    improvement: float = 0.0  # over the baseline, in the metric's direction


def largest_remainder(weights: dict[str, Fraction], total: int, priority: list[str] | None = None) -> dict[str, int]:
    """Whole units proportional to `weights`, summing exactly to `total`; equal remainders are
    broken by `priority` (earlier first), or by name."""
    weight_sum = sum(weights.values())
    if total == 0 or weight_sum <= 0:
        return {team: 0 for team in weights}
    exact = {team: Fraction(total) * w / weight_sum for team, w in weights.items()}
    floors = {team: int(value) for team, value in exact.items()}
    leftover = total - sum(floors.values())
    rank = {team: index for index, team in enumerate(priority or sorted(weights))}
    order = sorted(weights, key=lambda team: (-(exact[team] - floors[team]), rank[team]))
    for team in order[:leftover]:
        floors[team] += 1
    return floors


def _ordered(standings: list[Standing], higher: bool) -> list[Standing]:
    return sorted((s for s in standings if s.qualifies), key=lambda s: (-s.score if higher else s.score, s.team))


def _groups(ordered: list[Standing], key: Callable[[Standing], object]) -> list[list[Standing]]:
    groups: list[list[Standing]] = []
    for standing in ordered:
        if groups and key(groups[-1][0]) == key(standing):
            groups[-1].append(standing)
        else:
            groups.append([standing])
    return groups


def _by_positions(
    ordered: list[Standing], shares: list[Fraction], key: Callable[[Standing], object]
) -> dict[str, Fraction]:
    """Each group (equal key) shares equally the prizes of the positions it spans."""
    weights, position = {}, 0
    for group in _groups(ordered, key):
        spanned = sum(shares[position : position + len(group)], Fraction(0))
        for standing in group:
            weights[standing.team] = spanned / len(group)
        position += len(group)
    return weights


def exact(value: float | str) -> Fraction:
    """A share as the decimal it was written as: 0.3 is 3/10, not the float nearest it."""
    return Fraction(str(value))


def allocate(
    standings: list[Standing],
    *,
    rule: str,
    pool: int,
    higher_is_better: bool = True,
    shares: list[float | str] | None = None,
) -> dict[str, int]:
    """Whole units per team. Teams that do not qualify get nothing; the pool is spread over
    those that do (all of it, whatever the rule: with fewer qualifying teams than shares, the
    shares of the ranks they hold are scaled up), or kept whole when none does."""
    if rule not in RULES:
        raise ValueError(f"unknown reward rule {rule!r}; known: {', '.join(RULES)}")
    ordered = _ordered(standings, higher_is_better)
    amounts = {s.team: 0 for s in standings}
    if not ordered or pool <= 0:
        return amounts
    if rule == "proportional":
        weights = {s.team: Fraction(max(s.improvement, 0.0)) for s in ordered}
        if sum(weights.values()) == 0:
            weights = {s.team: Fraction(1) for s in ordered}
    else:
        fractions = [Fraction(1)] if rule == "winner_take_all" else [exact(x) for x in (shares or [1])]
        fractions += [Fraction(0)] * max(0, len(ordered) - len(fractions))
        key = (lambda s: s.rank_band) if rule == "rank_band_split" else (lambda s: s.score)
        weights = _by_positions(ordered, fractions, key)
    amounts.update(largest_remainder(weights, pool, [s.team for s in ordered]))
    return amounts


def split_among_factories(amount: int, factory_shares: dict[str, float | str]) -> dict[str, int]:
    """An alliance's award, split by its declared shares (whole units, summing to `amount`)."""
    return largest_remainder({f: exact(share) for f, share in factory_shares.items()}, amount)
