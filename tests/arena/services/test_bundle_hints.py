"""Errors that teach: a value of the wrong shape is refused with the right shape beside it."""

from __future__ import annotations

import pytest
from helpers import make_bundle

from arena.errors import BadRequest
from arena.services.bundles import load_bundle

ROUND = {"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z"}

CASES = [
    (
        {"rounds": [ROUND], "kpi": {"baseline": 0.6}},
        "kpi.baseline must be a mapping such as {score: 0.6} or {team: NAME}",
    ),
    ({"rounds": [ROUND], "kpi": 0.6}, "kpi must be a mapping such as {baseline: {score: 0.6}"),
    ({"rounds": [ROUND], "kpi": {"baseline": {"score": "high"}}}, "as in {score: 0.6}"),
    ({"rounds": [ROUND], "kpi": {"baseline": {"team": 7}}}, "as in {team: Baseline Team}"),
    ({"rounds": [ROUND], "rewards": "winner"}, "rewards must be a mapping such as {rule: rank_shares"),
    (
        {"rounds": [ROUND], "rewards": {"rule": "winner_take_all", "euros": [5]}},
        "rewards.euros must be a number such as 5000 or 2500.50",
    ),
    (
        {"rounds": [ROUND], "rewards": {"rule": "winner_take_all", "gpu_hours": "lots"}},
        "rewards.gpu_hours must be a number such as 100 or 12.5",
    ),
    ({"rounds": ROUND}, "such as [{name: Winter, start: 2027-01-01T00:00:00Z"),
    ({"rounds": ["2030-01-01"]}, "rounds[1] must be a mapping such as {name: Winter"),
    ({"rounds": [{**ROUND, "name": 5}]}, "rounds[1].name must be text of 1-100 characters, such as Winter"),
    ({"limits": 300}, "'limits' must be a mapping such as {time_limit_seconds: 300, memory_mb: 1024"),
    ({"limits": {"memory_mb": "1G"}}, "limits.memory_mb must be a whole number, such as {memory_mb: 1024}"),
    ({"limits": {"cpus": "two"}}, "limits.cpus must be a number, such as {cpus: 1}"),
    ({"daily_quota": "five"}, "daily_quota must be a whole number from 1 to 1000, such as daily_quota: 5"),
    ({"max_pending": 0}, "max_pending must be a whole number from 1 to 100, such as max_pending: 3"),
    ({"public_fraction": "30%"}, "such as public_fraction: 0.3"),
    ({"secondary_metrics": "macro_f1"}, "such as secondary_metrics: [macro_f1]"),
    ({"title": ["GPU", "faults"]}, "'title' must be text of at most 200 characters, such as title: GPU fault"),
]


@pytest.mark.parametrize("extra,shown", CASES, ids=[shown[:40] for _, shown in CASES])
def test_a_value_of_the_wrong_shape_is_shown_the_right_one(tmp_path, extra, shown):
    with pytest.raises(BadRequest) as refused:
        load_bundle(make_bundle(tmp_path / "b", extra=extra))
    assert shown in refused.value.message


def test_a_challenge_yaml_that_is_not_a_mapping_points_to_the_quickstart(tmp_path):
    root = make_bundle(tmp_path / "b")
    (root / "challenge.yaml").write_text("- slug: toy\n")
    with pytest.raises(BadRequest) as refused:
        load_bundle(root)
    assert "such as `slug: my-challenge`" in refused.value.message
    assert "docs/quickstart-organiser.md" in refused.value.message
