"""The newcomer's questions, answered before any upload: may my team submit now (the pre-flight),
what have we run (`arena submissions`), which teams are there (`arena team list`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball

from arena.services import accounts
from arena.services.challenges import create_challenge
from arena.timeutil import iso, utcnow
from arena.worker import Worker


@pytest.fixture
def tarball(tmp_path):
    make_image_tarball(tmp_path / "i.tar")
    return (tmp_path / "i.tar").read_bytes()


def submit(client, token, tarball: bytes, kind: str = "hidden"):
    return client.post(
        f"/api/challenges/toy/submissions?kind={kind}",
        data=tarball,
        headers={**auth(token), "Content-Type": "application/x-tar"},
    )


def can(client, token, kind: str = "hidden", slug: str = "toy"):
    answer = client.get(f"/api/challenges/{slug}/can-submit?kind={kind}", headers=auth(token))
    assert answer.status_code == 200, answer.json
    return answer.json


def test_the_pre_flight_says_yes_with_the_quota_left(client, platform, organiser_token, team_token, tmp_path, tarball):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"daily_quota": 2}))
    first = can(client, team_token)
    assert (first["ok"], first["reason"], first["quota"]["left"], first["pending"]) == (True, None, 2, 0)
    assert submit(client, team_token, tarball).status_code == 201
    again = can(client, team_token)
    assert (again["ok"], again["quota"]["used"], again["quota"]["left"], again["pending"]) == (True, 1, 1, 1)


def test_the_pre_flight_gives_the_reason_the_upload_would_get(
    client, platform, organiser_token, team_token, tmp_path, tarball
):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"daily_quota": 1, "max_pending": 5})
    )
    assert submit(client, team_token, tarball).status_code == 201
    spent = can(client, team_token)
    assert (spent["ok"], spent["status"]) == (False, 429) and "used its 1 hidden runs" in spent["reason"]
    assert int(spent["retry_after"]) > 0
    refused = submit(client, team_token, tarball)
    assert refused.status_code == 429 and refused.json["error"]["message"] == spent["reason"]
    assert can(client, team_token, kind="sample")["ok"] is True  # the sample has its own quota


def test_the_pre_flight_counts_runs_waiting_against_the_cap(
    client, platform, organiser_token, team_token, tmp_path, tarball
):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"max_pending": 1}))
    assert submit(client, team_token, tarball).status_code == 201
    waiting = can(client, team_token)
    assert not waiting["ok"] and "waiting or running" in waiting["reason"]
    Worker(platform).drain()
    assert can(client, team_token)["ok"] is True


def test_the_pre_flight_needs_an_approved_registration_and_an_open_round(
    client, platform, organiser_token, team_token, tmp_path
):
    start = utcnow() + timedelta(days=2)
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(
            tmp_path / "b",
            extra={
                "registration": "approval",
                "rounds": [{"start": iso(start), "end": iso(start + timedelta(days=7))}],
            },
        ),
    )
    unregistered = can(client, team_token)
    assert (unregistered["ok"], unregistered["status"]) == (False, 403)
    assert "arena challenge register toy" in unregistered["reason"]
    client.post("/api/challenges/toy/registration", headers=auth(team_token))
    assert "pending" in can(client, team_token)["reason"]
    client.post("/api/challenges/toy/registrations/1", json={"approve": True}, headers=auth(organiser_token))
    closed = can(client, team_token)
    assert (closed["ok"], closed["status"]) == (False, 409) and "Round 1 opens at" in closed["reason"]
    assert can(client, team_token, kind="sample")["ok"] is True  # sample runs are open at any time


def test_the_pre_flight_is_for_teams_and_checks_its_kind(client, platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", sample=False))
    assert client.get("/api/challenges/toy/can-submit", headers=auth(organiser_token)).status_code == 403
    assert client.get("/api/challenges/toy/can-submit?kind=x", headers=auth(team_token)).status_code == 400
    assert client.get("/api/challenges/nope/can-submit", headers=auth(team_token)).status_code == 404
    assert "no public sample set" in can(client, team_token, kind="sample")["reason"]


def test_a_team_lists_its_runs_with_receipts_quota_and_secondary_scores(
    client, platform, organiser_token, team_token, fake_runner, tmp_path, tarball
):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"secondary_metrics": ["macro_f1"]})
    )
    fake_runner.predict = lambda item: "even" if item["x"] % 2 == 0 else "odd"
    hidden = submit(client, team_token, tarball).json
    sample = submit(client, team_token, tarball, kind="sample").json
    Worker(platform).drain()
    found = client.get("/api/submissions?challenge=toy", headers=auth(team_token)).json
    runs = {r["id"]: r for r in found["submissions"]}
    assert runs[hidden["id"]]["receipt_entry"]["seq"] == hidden["receipt"]["body"]["seq"]
    assert runs[sample["id"]]["receipt_entry"] is None
    assert runs[sample["id"]]["secondary"]["macro_f1"]["score"] == 1.0
    assert runs[hidden["id"]]["secondary"]["macro_f1"]["score"] == 1.0
    assert {(q["kind"], q["left"]) for q in found["quotas"]} == {("hidden", 4), ("sample", 4)}
    status = client.get(f"/api/submissions/{sample['id']}", headers=auth(team_token)).json
    assert status["secondary"]["macro_f1"]["score"] == 1.0


def test_an_organiser_lists_the_teams_with_shares_and_registrations(client, platform, organiser_token, tmp_path):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"registration": "approval"})
    )
    _, token = accounts.create_team(platform, name="Alliance", factories=["LUMI:2", "Leonardo:1"])
    accounts.create_team(platform, name="Solo", factories=[])
    client.post("/api/challenges/toy/registration", headers=auth(token))
    teams = {t["team"]: t for t in client.get("/api/teams", headers=auth(organiser_token)).json["teams"]}
    assert [(f["factory"], f["percent"]) for f in teams["Alliance"]["factories"]] == [
        ("LUMI", "66.67%"),
        ("Leonardo", "33.33%"),
    ]
    assert teams["Alliance"]["registrations"] == [{"challenge": "toy", "status": "pending", "kpi_misses": 0}]
    assert teams["Solo"]["registrations"] == []
    assert client.get("/api/teams", headers=auth(token)).status_code == 403


def test_a_registered_team_counts_before_it_submits(client, platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b"))
    assert client.get("/api/challenges").json["challenges"][0]["teams"] == 0
    client.post("/api/challenges/toy/registration", headers=auth(team_token))
    assert client.get("/api/challenges").json["challenges"][0]["teams"] == 1
    assert client.get("/api/challenges/toy").json["teams"] == 1
