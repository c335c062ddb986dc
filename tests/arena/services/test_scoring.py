"""Scoring containers without an engine: the declaration in challenge.yaml, the organisers' scorer
uploads through the resumable intake and the API, pinning and re-pinning by digest, and the
strict reading of scores.jsonl."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from helpers import make_bundle, make_image_tarball

import evaluators
from arena.errors import BadRequest, Forbidden
from arena.services import accounts, publiclog, scoring
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge

SCORER = {"image": "my-org/scorer", "aggregation": "mean", "range": [0, 1]}


def scorer_bundle(root, **scorer):
    return make_bundle(root, n=6, sample=False, extra={"metric": "judged", "scorer": {**SCORER, **scorer}})


def upload(client, token: str, path) -> str:
    """The organiser's scorer image through /api/uploads, as the CLI sends it."""
    data = path.read_bytes()
    auth = {"Authorization": f"Bearer {token}"}
    made = client.post(
        "/api/uploads", json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, headers=auth
    )
    assert made.status_code == 201, made.json
    assert client.put(f"/api/uploads/{made.json['id']}?offset=0", data=data, headers=auth).status_code == 200
    return client.post(f"/api/uploads/{made.json['id']}/complete", headers=auth).json["image_digest"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"aggregation": "median"}, "scorer.aggregation must be 'mean'"),
        ({"range": [1, 0]}, "scorer.range must be [low, high]"),
        ({"secondary": ["Bad Name"]}, "scorer.secondary must list"),
        ({"limits": {"gpus": 99}}, "limits.gpus must be between 0 and 16"),
        ({"limits": {"disk": 1}}, "scorer.limits may set"),
        ({"image": ""}, "scorer.image must name"),
    ],
)
def test_a_bad_scorer_block_is_refused(tmp_path, change, message):
    with pytest.raises(BadRequest, match=re.escape(message)):
        load_bundle(scorer_bundle(tmp_path / "b", **change))


def test_a_scorer_names_its_own_primary_score_and_takes_no_secondary_metrics(tmp_path):
    bundle = load_bundle(scorer_bundle(tmp_path / "ok"))
    assert (bundle.metric, bundle.scorer["limits"]["time_limit_seconds"]) == ("judged", 30)
    with pytest.raises(BadRequest, match="not the name of a built-in metric"):
        load_bundle(make_bundle(tmp_path / "a", n=4, sample=False, extra={"metric": "accuracy", "scorer": SCORER}))
    with pytest.raises(BadRequest, match="scorer.secondary, not secondary_metrics"):
        load_bundle(
            make_bundle(
                tmp_path / "c",
                n=4,
                sample=False,
                extra={"metric": "judged", "scorer": SCORER, "secondary_metrics": ["accuracy"]},
            )
        )


def test_the_scorer_image_is_uploaded_pinned_and_logged(platform, client, organiser_token, team_token, tmp_path):
    make_image_tarball(tmp_path / "scorer.tar", salt="scorer")
    digest = upload(client, organiser_token, tmp_path / "scorer.tar")
    with pytest.raises(BadRequest, match="upload the scorer image 'my-org/scorer' first"):
        create_challenge(platform, organiser_id=1, bundle_dir=scorer_bundle(tmp_path / "b1"))
    other = accounts.create_organiser(platform, name="Other")[0]
    with pytest.raises(BadRequest, match="no scorer image with this digest was uploaded by you"):
        create_challenge(
            platform, organiser_id=other.id, bundle_dir=scorer_bundle(tmp_path / "b2"), scorer_digest=digest
        )
    create_challenge(platform, organiser_id=1, bundle_dir=scorer_bundle(tmp_path / "b3"), scorer_digest=digest)
    opened = [e["body"]["data"] for e in publiclog.entries(platform, challenge="toy")][0]
    assert opened["scorer"] == {"image": digest, "aggregation": "mean", "range": [0.0, 1.0], "secondary": []}
    assert client.get("/api/challenges/toy").json["scorer"]["image"] == digest

    make_image_tarball(tmp_path / "v2.tar", salt="v2")
    newer = upload(client, organiser_token, tmp_path / "v2.tar")
    auth = {"Authorization": f"Bearer {organiser_token}"}
    pinned = client.put("/api/challenges/toy/scorer", json={"image_digest": newer}, headers=auth)
    assert (pinned.status_code, pinned.json["scorer_image"]) == (200, newer)
    assert [e["body"]["data"] for e in publiclog.entries(platform, challenge="toy")][-1] == {
        "scorer_image": newer,
        "aggregation": "mean",
    }
    with pytest.raises(Forbidden):
        scoring.set_scorer(platform, organiser_id=other.id, slug="toy", image_digest=newer)
    refused = client.put(
        "/api/challenges/toy/scorer", json={"image_digest": newer}, headers={"Authorization": f"Bearer {team_token}"}
    )
    assert refused.status_code == 403


def test_a_team_cannot_see_or_submit_an_organisers_scorer_upload(
    platform, client, organiser_token, team_token, tmp_path
):
    make_image_tarball(tmp_path / "scorer.tar", salt="private")
    digest = upload(client, organiser_token, tmp_path / "scorer.tar")
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=4))
    team = {"Authorization": f"Bearer {team_token}"}
    submitted = client.post("/api/challenges/toy/submissions", json={"image_digest": digest}, headers=team)
    assert submitted.status_code in (400, 404) and "Traceback" not in json.dumps(submitted.json)
    with pytest.raises(BadRequest, match="scored by the built-in metric accuracy"):
        scoring.set_scorer(platform, organiser_id=1, slug="toy", image_digest=digest)


RULE = evaluators.ScoreRule("ratio", 0.0, 10.0, ("length",))


def lines(*rows) -> list[bytes]:
    return [(json.dumps(r) if not isinstance(r, str) else r).encode() + b"\n" for r in rows]


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"id": "a", "numerator": 1, "denominator": -1, "secondary": {"length": 1}}], "outside the declared range"),
        (
            [{"id": "a", "numerator": 1, "secondary": {"length": 1}}],
            "must be an object with 'id', 'numerator', 'denominator'",
        ),
        ([{"id": "a", "numerator": 1, "denominator": 1, "secondary": {"other": 1}}], "declared secondary score names"),
        (
            [{"id": "a", "numerator": 1, "denominator": 1, "secondary": {"length": "x"}}],
            "'length' must be a finite number",
        ),
        ([{"id": "a", "numerator": True, "denominator": 1, "secondary": {"length": 1}}], "must be a finite number"),
        (['{"id": "a", "numerator": Infinity, "denominator": 1}'], "not valid JSON"),
        (
            [
                {"id": "a", "numerator": 0, "denominator": 0, "secondary": {"length": 1}},
                {"id": "b", "numerator": 0, "denominator": 0, "secondary": {"length": 1}},
            ],
            "denominators sum to 0",
        ),
    ],
)
def test_scores_are_read_strictly(rows, message):
    with pytest.raises(evaluators.InvalidScores, match=message):
        evaluators.parse_scores(lines(*rows), ids=["a", "b"] if len(rows) == 2 else ["a"], rule=RULE)


def test_scores_come_back_in_item_order_with_their_secondary_scores():
    table = evaluators.parse_scores(
        lines(
            {"id": "b", "numerator": 1, "denominator": 2, "secondary": {"length": 3}},
            "",
            {"id": "a", "numerator": 2, "denominator": 2, "secondary": {"length": 5}},
        ),
        ids=["a", "b"],
        rule=RULE,
    )
    assert table.values.tolist() == [[2, 2], [1, 2]] and table.secondary["length"].tolist() == [5, 3]
    assert evaluators.point("ratio", table.values) == 0.75
    assert np.allclose(evaluators.paired_values("ratio", table.values).mean(), 0.75)
