"""Leaderboard intervals and rank bands."""

from arena.domain.ranking import rank_bands


def entry(rank, low, high):
    return {"rank": rank, "ci_low": low, "ci_high": high}


def test_overlapping_intervals_share_a_band_and_clear_winners_do_not():
    entries = [entry(1, 0.90, 0.96), entry(2, 0.88, 0.94), entry(3, 0.70, 0.80), entry(4, None, None)]
    rank_bands(entries, higher=True)
    assert [e["rank_band"] for e in entries] == [1, 1, 3, 4]


def test_lower_is_better_bands():
    entries = [entry(1, 0.10, 0.20), entry(2, 0.15, 0.30), entry(3, 0.50, 0.60)]
    rank_bands(entries, higher=False)
    assert [e["rank_band"] for e in entries] == [1, 1, 3]
