"""Slices: labels may carry a public `slice`; each slice with enough items gets its own score
and interval beside the primary one, which alone ranks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_bundle, make_image_tarball, write_jsonl
from sqlalchemy import select
from test_evaluation import run_with, write

import evaluators
from arena.errors import BadRequest
from arena.models import Result
from arena.services import leaderboard, publiclog
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.slices import MIN_SLICE_ITEMS, slice_scores
from arena.services.submissions import create_submission

N = 400
SLICES = ["en"] * 200 + ["fr"] * 180 + ["de"] * 20  # "de" is too small to be shown


def sliced_bundle(root):
    make_bundle(root, n=N, sample=False)
    write_jsonl(
        root / "labels.jsonl",
        [{"id": f"i{i}", "label": "even" if i % 2 == 0 else "odd", "slice": SLICES[i]} for i in range(N)],
    )
    return root


def predictions() -> str:
    """Right on every English item, right on half of the French and German ones."""
    rows = []
    for i in range(N):
        right = "even" if i % 2 == 0 else "odd"
        wrong = "odd" if right == "even" else "even"
        rows.append({"id": f"i{i}", "prediction": right if SLICES[i] == "en" or i % 4 < 2 else wrong})
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_each_large_enough_slice_gets_a_score_and_interval(platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=sliced_bundle(tmp_path / "b"))
    path = tmp_path / "img.tar"
    make_image_tarball(path)
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    create_submission(platform, team_id=1, slug="toy", image_digest=image.digest)
    run_with(platform, write(predictions()))
    with platform.sessions() as session:
        rows = {r.split: r for r in session.scalars(select(Result))}
    for split in ("public", "private"):
        found = rows[split].slices
        assert set(found) == {"en", "fr"}, found  # "de" has fewer than 30 items in either split
        assert found["en"]["score"] == 1.0 and found["en"]["n_items"] >= MIN_SLICE_ITEMS
        # Half the French items are right; which of them fall in a split is the split key's draw,
        # so the split's share is near, not at, one half (0.5 itself lies outside a 95% interval
        # about one time in twenty): the interval holds the slice's own score.
        assert 0.25 < found["fr"]["score"] < 0.75
        assert found["fr"]["ci_low"] < found["fr"]["score"] < found["fr"]["ci_high"]
    board = leaderboard.leaderboard(platform, slug="toy")
    assert board["entries"][0]["slices"]["fr"]["n_items"] == rows["public"].slices["fr"]["n_items"]
    logged = [e["body"]["data"] for e in publiclog.entries(platform, challenge="toy") if e["body"]["kind"] == "result"]
    assert logged[0]["slices"]["en"]["score"] == 1.0
    assert board["entries"][0]["score"] == pytest.approx(rows["public"].score, abs=1 / N)  # the primary ranks


def test_slice_scores_use_the_metrics_own_aggregation():
    rng = np.random.default_rng(1)
    names = ["a"] * 60 + ["b"] * 40 + [None] * 10
    values = np.stack([rng.integers(0, 3, 110), rng.integers(1, 3, 110)], axis=1).astype(float)
    found = slice_scores(names, lambda picks: evaluators.interval_from_values("ratio", values[picks], seed=1))
    assert found["a"]["score"] == pytest.approx(values[:60, 0].sum() / values[:60, 1].sum())
    assert found["b"]["n_items"] == 40 and found["a"]["ci_low"] <= found["a"]["score"] <= found["a"]["ci_high"]


@pytest.mark.parametrize(
    "slice_value, message",
    [
        (7, "'slice' must be a name"),
        ("", "'slice' must be a name"),
        ("x" * 65, "'slice' must be a name"),
    ],
)
def test_a_bad_slice_is_refused(tmp_path, slice_value, message):
    root = make_bundle(tmp_path / "b", n=4, sample=False)
    write_jsonl(root / "labels.jsonl", [{"id": f"i{i}", "label": "odd", "slice": slice_value} for i in range(4)])
    with pytest.raises(BadRequest, match=message):
        load_bundle(root)


def test_the_board_page_shows_each_slice(platform, client, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=sliced_bundle(tmp_path / "b"))
    path = tmp_path / "img.tar"
    make_image_tarball(path)
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    create_submission(platform, team_id=1, slug="toy", image_digest=image.digest)
    run_with(platform, write(predictions()))
    page = client.get("/challenges/toy").get_data(as_text=True)
    assert "slice en (" in page and "slice fr (" in page and "slice de" not in page
