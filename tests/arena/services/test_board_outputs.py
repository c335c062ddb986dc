"""The board as CSV and as a page with whiskers, a team's history, and final-submission choice."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball

from arena.services.challenges import create_challenge
from arena.worker import Worker


@pytest.fixture
def scored(client, platform, organiser_token, team_token, fake_runner, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=20))
    fake_runner.predict = lambda item: "even"
    ids = []
    for salt in ("a", "b", "c"):
        make_image_tarball(tmp_path / f"{salt}.tar", salt=salt)
        ids.append(
            client.post(
                "/api/challenges/toy/submissions",
                data=(tmp_path / f"{salt}.tar").read_bytes(),
                headers={**auth(team_token), "Content-Type": "application/x-tar"},
            ).json["id"]
        )
        Worker(platform).drain()
    return ids


def test_csv_matches_the_json_board(client, scored):
    board = client.get("/api/challenges/toy/leaderboard").json
    answer = client.get("/api/challenges/toy/leaderboard.csv")
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["team"], float(r["score"]), r["submission_id"]) for r in rows] == [
        (e["team"], e["score"], e["submission_id"]) for e in board["entries"]
    ]


def test_the_page_draws_whiskers_and_explains_the_ladder(client, scored):
    page = client.get("/challenges/toy").get_data(as_text=True)
    assert '<svg class="whisker"' in page and "95% interval" in page and "the Ladder" in page


def test_history_lists_only_released_scores(client, scored, team_token):
    history = client.get("/api/challenges/toy/teams/Team A/history").json
    assert [p["submission_id"] for p in history["released"]] == [scored[0]]  # the same model: not released again
    later = client.get(f"/api/submissions/{scored[1]}", headers=auth(team_token)).json
    assert (later["status"], later["released"], later["score"]) == ("scored", False, None)


def test_a_team_chooses_at_most_two_final_submissions(client, scored, team_token, organiser_token):
    for sid in scored[:2]:
        chosen = client.post(f"/api/submissions/{sid}/selection", json={"selected": True}, headers=auth(team_token))
        assert chosen.status_code == 200 and chosen.json["selected"] is True
    third = client.post(f"/api/submissions/{scored[2]}/selection", json={"selected": True}, headers=auth(team_token))
    assert third.status_code == 409
    undo = client.post(f"/api/submissions/{scored[0]}/selection", json={"selected": False}, headers=auth(team_token))
    assert undo.json["selected"] is False
    assert (
        client.post(
            f"/api/submissions/{scored[2]}/selection", json={"selected": "yes"}, headers=auth(team_token)
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/api/submissions/{scored[2]}/selection", json={"selected": True}, headers=auth(organiser_token)
        ).status_code
        == 403
    )


def test_the_cli_status_line_explains_an_unreleased_score():
    from arena.cli.client_cmds import _status_line

    line = _status_line({"id": "sub-1", "status": "scored", "score": None})
    assert "not released" in line and "Ladder" in line


def test_private_scores_are_for_organisers_only(client, scored, team_token, organiser_token):
    mine = client.get(f"/api/submissions/{scored[0]}", headers=auth(team_token)).json
    assert "results" not in mine
    seen = client.get(f"/api/submissions/{scored[0]}", headers=auth(organiser_token)).json["results"]
    assert [r["split"] for r in seen] == ["private", "public"]
    assert all(0 <= r["score"] <= 1 for r in seen)
