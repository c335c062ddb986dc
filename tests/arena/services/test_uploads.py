"""Resumable uploads: parts at the server's offset, resume after a dropped connection, complete
with the declared digest; nothing is registered before that."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball, serve_arena

from arena.client import ArenaClient, ClientError
from arena.services.challenges import create_challenge


@pytest.fixture
def tarball(platform, organiser_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b"))
    path = tmp_path / "i.tar"
    make_image_tarball(path)
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def start(client, token, data, sha):
    answer = client.post("/api/uploads", json={"size": len(data), "sha256": sha}, headers=auth(token))
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def put(client, token, upload_id, offset, chunk):
    return client.put(f"/api/uploads/{upload_id}?offset={offset}", data=chunk, headers=auth(token))


def test_parts_then_complete_then_submit_by_digest(client, tarball, team_token):
    data, sha = tarball
    upload_id = start(client, team_token, data, sha)
    half = len(data) // 2
    assert put(client, team_token, upload_id, 0, data[:half]).json["received"] == half
    assert client.get(f"/api/uploads/{upload_id}", headers=auth(team_token)).json["received"] == half
    assert put(client, team_token, upload_id, half, data[half:]).json["received"] == len(data)
    done = client.post(f"/api/uploads/{upload_id}/complete", headers=auth(team_token)).json
    assert done["complete"] and done["image_digest"] == f"sha256:{sha}"
    made = client.post(
        "/api/challenges/toy/submissions", json={"image_digest": done["image_digest"]}, headers=auth(team_token)
    )
    assert made.status_code == 201


def test_a_part_at_the_wrong_offset_is_409_with_the_right_one(client, tarball, team_token):
    data, sha = tarball
    upload_id = start(client, team_token, data, sha)
    put(client, team_token, upload_id, 0, data[:100])
    wrong = put(client, team_token, upload_id, 50, data[50:])
    assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == "100"


def test_completing_early_or_with_other_bytes_is_refused(client, platform, tarball, team_token):
    data, sha = tarball
    upload_id = start(client, team_token, data, sha)
    put(client, team_token, upload_id, 0, data[:10])
    early = client.post(f"/api/uploads/{upload_id}/complete", headers=auth(team_token))
    assert early.status_code == 409 and "send the rest" in early.json["error"]["message"]
    put(client, team_token, upload_id, 10, b"x" * (len(data) - 10))
    forged = client.post(f"/api/uploads/{upload_id}/complete", headers=auth(team_token))
    assert forged.status_code == 400 and "do not match the declared SHA-256" in forged.json["error"]["message"]
    assert list(platform.image_dir.glob("*.tar")) == []


def test_parts_past_the_declared_size_and_other_teams_are_refused(client, platform, tarball, team_token):
    from arena.services.accounts import create_team

    data, sha = tarball
    upload_id = start(client, team_token, data, sha)
    assert put(client, team_token, upload_id, 0, data + b"extra").status_code == 413
    other = create_team(platform, name="Other", factories=[])[1]
    assert client.get(f"/api/uploads/{upload_id}", headers=auth(other)).status_code == 404


@pytest.mark.parametrize(
    "body", [{}, {"size": 10, "sha256": "nothex"}, {"size": 0, "sha256": "a" * 64}, {"size": "10", "sha256": "a" * 64}]
)
def test_bad_starts_are_refused(client, tarball, team_token, body):
    assert client.post("/api/uploads", json=body, headers=auth(team_token)).status_code in (400, 413)


class DroppingClient(ArenaClient):
    """Loses the connection after every other part reaches the server, as a bad link would."""

    calls = 0

    def put_part(self, upload_id, offset, data):
        answer = super().put_part(upload_id, offset, data)
        DroppingClient.calls += 1
        if DroppingClient.calls % 2:
            raise ClientError("connection dropped", None)
        return answer


def test_the_client_resumes_after_dropped_connections(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "image.tar"
    make_image_tarball(path, salt="x" * 50_000)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with serve_arena(home, extra_env={"ARENA_RUNNER": "fake"}) as env:
        from helpers import arena

        organiser = json.loads(arena(env, "admin", "create-organiser", "Org", "--json").stdout)["token"]
        team = json.loads(arena(env, "team", "create", "T", "--json", token=organiser).stdout)["token"]
        client = DroppingClient(url=env["ARENA_URL"], token=team)
        done = client.upload_tarball(path, sha, part_bytes=10_000, pause_s=0.01)
    assert done["complete"] and done["image_digest"] == f"sha256:{sha}"
    assert DroppingClient.calls > 4


def _complete(client, token, data, sha) -> str:
    upload_id = start(client, token, data, sha)
    assert put(client, token, upload_id, 0, data).status_code == 200
    return client.post(f"/api/uploads/{upload_id}/complete", headers=auth(token)).json["image_digest"]


def test_a_team_cannot_hold_unlimited_open_uploads(client, platform, tarball, team_token):
    """The review's finding: a team could reserve any number of uploads. Four at once by default;
    one submitted frees its place."""
    data, sha = tarball
    digest = _complete(client, team_token, data, sha)
    for _ in range(3):
        start(client, team_token, data, sha)
    refused = client.post("/api/uploads", json={"size": len(data), "sha256": sha}, headers=auth(team_token))
    assert refused.status_code == 429 and "4 uploads not yet submitted" in refused.json["error"]["message"]
    assert int(refused.headers["Retry-After"]) > 23 * 3600
    made = client.post("/api/challenges/toy/submissions", json={"image_digest": digest}, headers=auth(team_token))
    assert made.status_code == 201
    start(client, team_token, data, sha)


def test_a_team_cannot_reserve_unlimited_bytes(client, platform, tarball, team_token):
    largest = platform.settings.max_image_bytes
    assert platform.settings.team_max_upload_bytes == 2 * largest  # the defaults
    for _ in range(2):
        first = client.post("/api/uploads", json={"size": largest, "sha256": "0" * 64}, headers=auth(team_token))
        assert first.status_code == 201
    refused = client.post("/api/uploads", json={"size": 1, "sha256": "0" * 64}, headers=auth(team_token))
    assert refused.status_code == 429 and "MiB together" in refused.json["error"]["message"]


def test_uploads_never_submitted_are_swept_with_their_image(client, platform, tarball, team_token, tmp_path):
    from datetime import timedelta

    from sqlalchemy import select, update

    from arena.models import Image, Upload
    from arena.services.images import image_path
    from arena.services.uploads import sweep_stale
    from arena.timeutil import utcnow

    data, sha = tarball
    kept = _complete(client, team_token, data, sha)
    assert (
        client.post(
            "/api/challenges/toy/submissions", json={"image_digest": kept}, headers=auth(team_token)
        ).status_code
        == 201
    )
    other = tmp_path / "other.tar"
    make_image_tarball(other, salt="never submitted")
    raw = other.read_bytes()
    unused = _complete(client, team_token, raw, hashlib.sha256(raw).hexdigest())
    pending = start(client, team_token, data, sha)
    assert sweep_stale(platform) == 0  # nothing is old enough yet
    old = utcnow() - timedelta(hours=platform.settings.upload_keep_hours + 1)
    with platform.transaction() as session:
        session.execute(update(Upload).values(created_at=old))
    assert sweep_stale(platform) == 2
    with platform.sessions() as session:
        assert session.scalars(select(Upload.image_digest)).all() == [kept]
        assert session.get(Image, unused) is None and session.get(Image, kept) is not None
    assert not image_path(platform, unused).exists() and image_path(platform, kept).exists()
    assert client.get(f"/api/uploads/{pending}", headers=auth(team_token)).status_code == 404
