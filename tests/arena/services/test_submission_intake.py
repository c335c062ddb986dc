"""Idempotent submits, resubmitting by digest, and the cap on pending submissions."""

from __future__ import annotations

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball

from arena.services import accounts
from arena.services.challenges import create_challenge


@pytest.fixture
def tarball(platform, organiser_token, tmp_path):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", extra={"max_pending": 2, "daily_quota": 50})
    )
    make_image_tarball(tmp_path / "i.tar")
    return (tmp_path / "i.tar").read_bytes()


def post(client, token, body, **headers):
    return client.post(
        "/api/challenges/toy/submissions",
        data=body,
        headers={**auth(token), "Content-Type": "application/x-tar", **headers},
    )


def test_a_retried_submit_with_the_same_key_returns_the_first(client, tarball, team_token):
    first = post(client, team_token, tarball, **{"Idempotency-Key": "abc-1"})
    again = post(client, team_token, tarball, **{"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"]
    assert len(client.get("/api/submissions", headers=auth(team_token)).json["submissions"]) == 1
    other = post(client, team_token, tarball, **{"Idempotency-Key": "abc-2"})
    assert other.status_code == 201 and other.json["id"] != first.json["id"]


def test_pending_submissions_are_capped(client, tarball, team_token):
    assert post(client, team_token, tarball).status_code == 201
    assert post(client, team_token, tarball).status_code == 201
    third = post(client, team_token, tarball)
    assert third.status_code == 429 and "waiting or running" in third.json["error"]["message"]


def test_resubmitting_by_digest_only_for_own_images(client, platform, tarball, team_token):
    from arena.services.accounts import create_team

    digest = post(client, team_token, tarball).json["image_digest"]
    again = client.post("/api/challenges/toy/submissions", json={"image_digest": digest}, headers=auth(team_token))
    assert again.status_code == 201 and again.json["image_digest"] == digest
    other = create_team(platform, name="Copycat", factories=[])[1]
    stolen = client.post("/api/challenges/toy/submissions", json={"image_digest": digest}, headers=auth(other))
    assert stolen.status_code == 404 and "has not uploaded" in stolen.json["error"]["message"]
    bad = client.post("/api/challenges/toy/submissions", json={"image": 1}, headers=auth(team_token))
    assert bad.status_code == 400


def test_a_bad_idempotency_key_is_400(client, tarball, team_token):
    assert post(client, team_token, tarball, **{"Idempotency-Key": "x" * 101}).status_code == 400


def _racing_registration(monkeypatch, platform, module):
    """Another request of the team registers it between this request's check and its write."""
    from arena.models import Registration
    from arena.timeutil import utcnow

    original = module.ensure_registered
    raced = []

    def racing(session, *, challenge, team, register=True):
        if register and not raced:
            raced.append(True)
            with platform.transaction() as other:
                other.add(
                    Registration(
                        challenge_id=challenge.id,
                        team_id=team.id,
                        status="approved",
                        created_at=utcnow(),
                        decided_at=utcnow(),
                    )
                )
            session.add(
                Registration(
                    challenge_id=challenge.id,
                    team_id=team.id,
                    status="approved",
                    created_at=utcnow(),
                    decided_at=utcnow(),
                )
            )
            return None
        return original(session, challenge=challenge, team=team, register=register)

    monkeypatch.setattr(module, "ensure_registered", racing)
    return raced


def test_racing_first_submissions_never_give_500(client, platform, monkeypatch, tmp_path):
    """The review's finding: a team's first two submissions at once both registered it, and the
    second got a 500. Now it is registered once and both submissions are taken."""
    from arena.services import submissions as module

    create_challenge(
        platform,
        organiser_id=accounts.create_organiser(platform, name="O")[0].id,
        bundle_dir=make_bundle(tmp_path / "b"),
    )
    team, token = accounts.create_team(platform, name="Racer", factories=["F"])
    raced = _racing_registration(monkeypatch, platform, module)
    image = tmp_path / "i.tar"
    make_image_tarball(image)
    answer = client.post(
        "/api/challenges/toy/submissions",
        data=image.read_bytes(),
        content_type="application/x-tar",
        headers=auth(token),
    )
    assert raced and answer.status_code == 201, answer.get_json()
