"""The HTTP API with a fake runner at the sandbox seam."""

from __future__ import annotations

import io

import pytest
from conftest import auth, web_sign_in
from helpers import make_bundle, make_image_tarball

from arena.services.challenges import create_challenge
from arena.worker import Worker


@pytest.fixture
def challenge(platform, organiser_token, tmp_path):
    return create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "bundle"))


def upload(client, token, tmp_path, slug="toy", salt=""):
    path = tmp_path / f"image{salt}.tar"
    make_image_tarball(path, salt=salt)
    return client.post(
        f"/api/challenges/{slug}/submissions",
        data=path.read_bytes(),
        headers={**auth(token), "Content-Type": "application/x-tar"},
    )


def test_health_and_public_reads_need_no_token(client, challenge):
    assert client.get("/api/health").json == {"status": "ok"}
    assert client.get("/api/challenges").json["challenges"][0]["slug"] == "toy"
    board = client.get("/api/challenges/toy/leaderboard").json
    assert board == {
        "challenge": "toy",
        "title": "Toy toy",
        "metric": "accuracy",
        "higher_is_better": True,
        "entries": [],
        "secondary_metrics": [],
    }
    with client.get("/api/challenges/toy/sample/inputs.jsonl") as sample:
        assert sample.status_code == 200 and b'"s0"' in sample.data


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_wrong_tokens_get_401_json(client, challenge, header, tmp_path):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/submissions", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert "token" in response.json["error"]["message"]


def test_teams_cannot_do_organiser_work(client, team_token):
    response = client.post("/api/teams", json={"name": "X"}, headers=auth(team_token))
    assert response.status_code == 403
    assert "organiser token" in response.json["error"]["message"]


def test_organiser_creates_a_team_whose_token_works(client, organiser_token):
    made = client.post("/api/teams", json={"name": "Alliance", "factories": ["A", "B"]}, headers=auth(organiser_token))
    assert made.status_code == 201
    assert client.get("/api/me", headers=auth(made.json["token"])).json["name"] == "Alliance"
    again = client.post("/api/teams", json={"name": "Alliance"}, headers=auth(organiser_token))
    assert again.status_code == 409


@pytest.mark.parametrize("body", [[], {"name": 3}, {"name": "T", "factories": "A"}, {"name": ""}])
def test_bad_team_bodies_get_400(client, organiser_token, body):
    response = client.post("/api/teams", json=body, headers=auth(organiser_token))
    assert response.status_code == 400 and response.json["error"]["message"]


def test_challenge_upload_through_the_api(client, organiser_token, tmp_path):
    root = make_bundle(tmp_path / "b", slug="via-api")
    files = {n: (open(root / n, "rb"), n) for n in ("challenge.yaml", "inputs.jsonl", "labels.jsonl")}
    response = client.post(
        "/api/challenges", data=files, headers=auth(organiser_token), content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.json
    assert response.json["slug"] == "via-api" and response.json["n_items"] == 10


def test_challenge_upload_with_a_bad_file_is_a_400_naming_it(client, organiser_token, tmp_path):
    files = {"challenge.yaml": (io.BytesIO(b"slug: x\n"), "challenge.yaml")}
    response = client.post(
        "/api/challenges", data=files, headers=auth(organiser_token), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "inputs.jsonl is missing" in response.json["error"]["message"]
    odd = {"secrets.txt": (io.BytesIO(b"x"), "secrets.txt")}
    response = client.post(
        "/api/challenges", data=odd, headers=auth(organiser_token), content_type="multipart/form-data"
    )
    assert "unexpected file(s) secrets.txt" in response.json["error"]["message"]


def test_submit_run_and_leaderboard(client, platform, challenge, team_token, fake_runner, tmp_path):
    fake_runner.predict = lambda item: "even" if item["x"] % 2 == 0 else "odd"
    made = upload(client, team_token, tmp_path)
    assert made.status_code == 201, made.json
    assert made.json["status"] == "queued"
    assert Worker(platform).drain() == 1
    state = client.get(f"/api/submissions/{made.json['id']}", headers=auth(team_token)).json
    assert (state["status"], state["score"], state["failure_reason"]) == ("scored", 1.0, None)
    entries = client.get("/api/challenges/toy/leaderboard").json["entries"]
    assert entries == [
        {
            "rank": 1,
            "team": "Team A",
            "factories": ["Factory A"],
            "score": 1.0,
            "submission_id": made.json["id"],
            "ci_low": 1.0,
            "ci_high": 1.0,
            "rank_band": 1,
            "secondary": None,
            "method_card": None,
        }
    ]


def test_a_team_sees_only_its_own_submissions(client, platform, challenge, team_token, tmp_path):
    from arena.services.accounts import create_team

    other = create_team(platform, name="Team B", factories=[])[1]
    mine = upload(client, team_token, tmp_path).json["id"]
    response = client.get(f"/api/submissions/{mine}", headers=auth(other))
    assert response.status_code == 404
    assert client.get("/api/submissions", headers=auth(other)).json["submissions"] == []
    assert len(client.get("/api/submissions", headers=auth(team_token)).json["submissions"]) == 1


def test_uploads_that_are_not_images_are_refused(client, challenge, team_token):
    response = client.post("/api/challenges/toy/submissions", data=b"not a tarball" * 100, headers=auth(team_token))
    assert response.status_code == 400
    assert "docker save" in response.json["error"]["message"]
    empty = client.post("/api/challenges/toy/submissions", data=b"", headers=auth(team_token))
    assert empty.status_code == 400 and "empty" in empty.json["error"]["message"]


def test_an_upload_to_an_unknown_challenge_is_a_404(client, team_token, tmp_path):
    response = upload(client, team_token, tmp_path, slug="nope")
    assert response.status_code == 404
    assert "no challenge 'nope'" in response.json["error"]["message"]


def test_the_daily_quota_gives_429_with_the_reset_time(client, platform, organiser_token, team_token, tmp_path):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", slug="tight", extra={"daily_quota": 2})
    )
    for salt in ("a", "b"):
        assert upload(client, team_token, tmp_path, slug="tight", salt=salt).status_code == 201
    refused = upload(client, team_token, tmp_path, slug="tight", salt="c")
    assert refused.status_code == 429
    assert "resets at" in refused.json["error"]["message"]
    assert int(refused.headers["Retry-After"]) > 0


def test_oversized_images_get_413(client, app, challenge, team_token, tmp_path):
    from dataclasses import replace

    platform = app.extensions["arena"]
    platform.settings = replace(platform.settings, max_image_bytes=100)
    response = upload(client, team_token, tmp_path)
    assert response.status_code == 413  # refused by its declared length, before a byte is stored
    assert not platform.upload_dir.exists() or list(platform.upload_dir.iterdir()) == []


def test_unknown_api_routes_answer_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_pages_render(client, platform, challenge, team_token, tmp_path, fake_runner):
    fake_runner.predict = lambda item: "even"
    upload(client, team_token, tmp_path)
    Worker(platform).drain()
    assert b"Toy toy" in client.get("/").data
    page = client.get("/challenges/toy").data
    assert (
        b"Team A" in page
        and b"arena.css" in page
        and b"http://" not in page.replace(platform.settings.public_url.encode(), b"")
    )
    assert client.get("/challenges/nope").status_code == 404
    assert b"Team A" in web_sign_in(client, team_token).data
    assert web_sign_in(client, "wrong").status_code == 401
