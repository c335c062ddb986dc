"""Runs on the public sample set show the team everything; runs on hidden data show nothing."""

from __future__ import annotations

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.models import Job
from arena.services.challenges import create_challenge
from arena.worker import Worker

SECRET_LOOKING = b"printed input: {'x': 3}"


@pytest.fixture
def setup(platform, organiser_token, team_token, fake_runner, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=4))
    fake_runner.predict = lambda item: "even"
    fake_runner.log = SECRET_LOOKING
    make_image_tarball(tmp_path / "i.tar")
    return (tmp_path / "i.tar").read_bytes()


def submit(client, token, tarball: bytes, kind: str | None = None):
    query = f"?kind={kind}" if kind else ""
    response = client.post(
        f"/api/challenges/toy/submissions{query}",
        data=tarball,
        headers={**auth(token), "Content-Type": "application/x-tar"},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_sample_run_shows_its_log_and_predictions_to_the_team(client, platform, setup, team_token):
    sid = submit(client, team_token, setup, kind="sample")
    Worker(platform).drain()
    state = client.get(f"/api/submissions/{sid}", headers=auth(team_token)).json
    assert (state["kind"], state["status"], state["score"]) == ("sample", "scored", 1.0)
    log = client.get(f"/api/submissions/{sid}/log", headers=auth(team_token)).json
    assert log["log"] == SECRET_LOOKING.decode()
    with client.get(f"/api/submissions/{sid}/predictions", headers=auth(team_token)) as answer:
        assert answer.status_code == 200 and b'"s0"' in answer.data
    assert client.get("/api/challenges/toy/leaderboard").json["entries"] == []


def test_a_hidden_run_shows_no_log_to_the_team_and_keeps_it_sealed(
    client, platform, setup, team_token, organiser_token
):
    sid = submit(client, team_token, setup)
    Worker(platform).drain()
    refused = client.get(f"/api/submissions/{sid}/log", headers=auth(team_token))
    assert refused.status_code == 403 and "never shown to teams" in refused.json["error"]["message"]
    assert client.get(f"/api/submissions/{sid}/predictions", headers=auth(team_token)).status_code == 403
    with platform.sessions() as session:
        stored = session.scalars(select(Job.log)).one()
    assert stored and SECRET_LOOKING not in stored
    unexplained = client.get(f"/api/submissions/{sid}/log", headers=auth(organiser_token))
    assert unexplained.status_code == 403 and "reason" in unexplained.json["error"]["message"]
    organiser_view = client.post(
        f"/api/submissions/{sid}/log-reads", json={"reason": "the run failed oddly"}, headers=auth(organiser_token)
    ).json
    assert organiser_view["log"] == SECRET_LOOKING.decode()
    told = client.get(f"/api/submissions/{sid}", headers=auth(team_token)).json["log_reads"]
    assert [(r["organisation"], r["reason"]) for r in told] == [("Organiser", "the run failed oddly")]


def test_sample_and_hidden_runs_have_separate_quotas(
    client, platform, organiser_token, team_token, fake_runner, tmp_path
):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "q", slug="toy", extra={"daily_quota": 1})
    )
    make_image_tarball(tmp_path / "i.tar")
    tarball = (tmp_path / "i.tar").read_bytes()
    submit(client, team_token, tarball, kind="sample")
    submit(client, team_token, tarball)
    again = client.post("/api/challenges/toy/submissions?kind=sample", data=tarball, headers=auth(team_token))
    assert again.status_code == 429 and "sample runs" in again.json["error"]["message"]


def test_bad_kinds_and_missing_samples_are_400(client, platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "n", sample=False))
    make_image_tarball(tmp_path / "i.tar")
    tarball = (tmp_path / "i.tar").read_bytes()
    odd = client.post("/api/challenges/toy/submissions?kind=both", data=tarball, headers=auth(team_token))
    assert odd.status_code == 400 and "?kind= must be 'hidden' or 'sample'" in odd.json["error"]["message"]
    none = client.post("/api/challenges/toy/submissions?kind=sample", data=tarball, headers=auth(team_token))
    assert none.status_code == 400 and "no public sample set" in none.json["error"]["message"]
