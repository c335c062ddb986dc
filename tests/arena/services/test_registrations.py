"""Registration: open challenges take any team; others wait for the organiser's approval."""

from __future__ import annotations

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball

from arena.services.challenges import create_challenge


@pytest.fixture
def gated(platform, organiser_token, tmp_path):
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(tmp_path / "b", slug="gated", extra={"registration": "approval"}),
    )
    make_image_tarball(tmp_path / "i.tar")
    return (tmp_path / "i.tar").read_bytes()


def submit(client, token, tarball, slug="gated"):
    return client.post(
        f"/api/challenges/{slug}/submissions",
        data=tarball,
        headers={**auth(token), "Content-Type": "application/x-tar"},
    )


def test_an_approval_challenge_waits_for_the_organiser(client, gated, team_token, organiser_token):
    refused = submit(client, team_token, gated)
    assert refused.status_code == 403 and "needs the organiser's approval" in refused.json["error"]["message"]
    asked = client.post("/api/challenges/gated/registration", headers=auth(team_token))
    assert asked.status_code == 201 and asked.json["status"] == "pending"
    assert "pending" in submit(client, team_token, gated).json["error"]["message"]
    listed = client.get("/api/challenges/gated/registrations", headers=auth(organiser_token)).json
    assert [(r["team"], r["status"]) for r in listed["registrations"]] == [("Team A", "pending")]
    decided = client.post(
        "/api/challenges/gated/registrations/1", json={"approve": True}, headers=auth(organiser_token)
    )
    assert decided.json["status"] == "approved"
    assert submit(client, team_token, gated).status_code == 201


def test_open_challenges_register_on_the_first_submission(client, platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "o", slug="open-one"))
    make_image_tarball(tmp_path / "j.tar")
    assert submit(client, team_token, (tmp_path / "j.tar").read_bytes(), slug="open-one").status_code == 201
    listed = client.get("/api/challenges/open-one/registrations", headers=auth(organiser_token)).json
    assert listed["registrations"][0]["status"] == "approved"


def test_a_refused_team_stays_out_and_bad_decisions_are_400(client, gated, team_token, organiser_token):
    client.post("/api/challenges/gated/registration", headers=auth(team_token))
    assert (
        client.post(
            "/api/challenges/gated/registrations/1", json={"approve": "yes"}, headers=auth(organiser_token)
        ).status_code
        == 400
    )
    client.post("/api/challenges/gated/registrations/1", json={"approve": False}, headers=auth(organiser_token))
    assert "refused" in submit(client, team_token, gated).json["error"]["message"]
    assert (
        client.post(
            "/api/challenges/gated/registrations/9", json={"approve": True}, headers=auth(organiser_token)
        ).status_code
        == 404
    )


def test_a_bad_registration_setting_is_refused(platform, organiser_token, tmp_path):
    from arena.errors import BadRequest

    with pytest.raises(BadRequest, match="registration must be"):
        create_challenge(
            platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "x", extra={"registration": "invite"})
        )


def test_racing_registrations_of_one_team_never_give_500(
    client, platform, organiser_token, team_token, tmp_path, monkeypatch
):
    """Another request of the team registers it between this request's check and its write."""
    from arena.models import Registration
    from arena.services import registrations
    from arena.timeutil import utcnow

    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b"))
    original, raced = registrations.audit.record, []

    def racing(session, **kwargs):
        if not raced:
            raced.append(True)
            with platform.transaction() as other:
                other.add(
                    Registration(challenge_id=1, team_id=1, status="approved", created_at=utcnow(), decided_at=utcnow())
                )
        return original(session, **kwargs)

    monkeypatch.setattr(registrations.audit, "record", racing)
    answer = client.post("/api/challenges/toy/registration", headers=auth(team_token))
    assert raced and answer.status_code == 201 and answer.get_json()["status"] == "approved"
