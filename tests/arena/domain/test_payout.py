"""A round's decisions as a pure function of its evidence: properties with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import evaluators
from arena.domain import payout


def evidence(skills: list[float], absent: list[bool], rule: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    correct = {f"team-{i}": (rng.random(300) < s).astype(float) for i, s in enumerate(skills)}
    found = {
        "challenge": "prop",
        "round": 1,
        "higher_is_better": True,
        "rules": {
            "kpi": {"baseline": {"score": 0.7}, "alpha": 0.05, "eliminate_after": 2},
            "rewards": {"rule": rule, "shares": ["0.5", "0.3", "0.2"] if "rank" in rule else []},
            "resamples": 2000,
        },
        "pool": {"cents": 100_001, "gpu_minutes": 601},
        "baseline": {"score": 0.7, "team": None, "submission": None},
        "teams": [],
        "pairs": [],
    }
    for (name, c), gone in zip(correct.items(), absent, strict=False):
        found["teams"].append(
            {
                "team": name,
                "submission": None if gone else f"sub-{name}",
                "score": None if gone else float(c.mean()),
                "ci_low": None,
                "ci_high": None,
                "factories": [[f"{name}-a", "0.5"], [f"{name}-b", "0.5"]],
                "misses_before": 1,
                "vs_baseline": None if gone else evaluators.differences(c - 0.7).as_dict(),
            }
        )
    found["pairs"] = [
        {"better": a, "worse": b, "differences": evaluators.differences(correct[a] - correct[b]).as_dict()}
        for a, b in payout.tie_pairs(found)
    ]
    return found


cases = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from([0.6, 0.72, 0.8, 0.8, 0.9]), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.sampled_from(["winner_take_all", "rank_shares", "rank_band_split", "proportional"]),
        st.integers(0, 2**16),
        st.randoms(),
    )
)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_a_round_pays_exactly_its_pool_and_nothing_below_the_kpi_whatever_the_storage_order(case):
    skills, absent, rule, seed, rng = case
    found = evidence(skills, absent, rule, seed)
    decided = payout.decide(found)
    paid = any(s["qualifies"] for s in decided["standings"])
    assert decided["totals"] == ({"cents": 100_001, "gpu_minutes": 601} if paid else {"cents": 0, "gpu_minutes": 0})
    for s in decided["standings"]:
        if s["kpi"] != "met":
            assert (s["cents"], s["gpu_minutes"], s["qualifies"]) == (0, 0, False)
            assert s["misses"] == 2 and s["eliminated"]
        assert sum(f["cents"] for f in s["factories"]) == s["cents"]
        assert sum(f["gpu_minutes"] for f in s["factories"]) == s["gpu_minutes"]
    shuffled = dict(found, teams=found["teams"][:])
    rng.shuffle(shuffled["teams"])
    assert payout.decide(shuffled) == decided
    assert payout.problems({**found, **decided}) == []


def test_a_tie_band_shares_the_ranks_it_spans():
    found = evidence([0.9, 0.9, 0.8], [False, False, False], "rank_band_split", 1)
    found["teams"][1]["vs_baseline"] = found["teams"][0]["vs_baseline"]  # identical results: tied
    found["teams"][1]["score"] = found["teams"][0]["score"]
    found["pairs"] = [
        {"better": a, "worse": b, "differences": {"values": [0.0], "counts": [300]}}
        if {a, b} == {"team-0", "team-1"}
        else p
        for p, (a, b) in zip(found["pairs"], payout.tie_pairs(found), strict=False)
    ]
    decided = {s["team"]: s for s in payout.decide(found)["standings"]}
    assert decided["team-0"]["band"] == decided["team-1"]["band"] == 1
    assert abs(decided["team-0"]["cents"] - decided["team-1"]["cents"]) <= 1
