"""Factories, alliances with shares, tokens with expiry and revocation, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import auth
from sqlalchemy import select, update

from arena.errors import BadRequest
from arena.models import TeamFactory, Token
from arena.services import accounts
from arena.timeutil import utcnow


def test_an_alliance_declares_its_shares(platform):
    team, _token = accounts.create_team(platform, name="Alliance", factories=["LUMI:3", "IT4LIA:1"])
    with platform.sessions() as session:
        shares = {
            m.factory.name: m.share for m in session.scalars(select(TeamFactory).where(TeamFactory.team_id == team.id))
        }
    assert shares == {"LUMI": 0.75, "IT4LIA": 0.25}


@pytest.mark.parametrize(
    ("factories", "message"),
    [
        (["A:1", "B"], "for every factory"),
        (["A:x"], "not a number"),
        (["A:-1"], "positive"),
        (["A", "A"], "named twice"),
    ],
)
def test_bad_alliances_are_refused(platform, factories, message):
    with pytest.raises(BadRequest, match=message):
        accounts.create_team(platform, name="Bad", factories=factories)


def test_tokens_are_listed_without_secrets_and_revocation_works(client, team_token):
    made = client.post("/api/tokens", json={"label": "laptop", "days": 30}, headers=auth(team_token))
    assert made.status_code == 201
    second = made.json["token"]
    listed = client.get("/api/tokens", headers=auth(second)).json["tokens"]
    assert [t["label"] for t in listed] == ["first", "laptop"]
    assert all("token" not in t and "hash" not in str(t) for t in listed)
    assert listed[1]["expires_at"] is not None
    assert client.delete(f"/api/tokens/{made.json['id']}", headers=auth(team_token)).status_code == 200
    refused = client.get("/api/me", headers=auth(second))
    assert refused.status_code == 401 and "not valid" in refused.json["error"]["message"]


def test_an_expired_token_says_so(client, platform, team_token):
    with platform.transaction() as session:
        session.execute(update(Token).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = client.get("/api/me", headers=auth(team_token))
    assert refused.status_code == 401 and "expired" in refused.json["error"]["message"]


def test_teams_cannot_touch_other_teams_tokens(client, platform, team_token, organiser_token):
    creator = accounts.authenticate(platform, token=organiser_token)
    _other, other_token = accounts.create_team(platform, name="Team B", factories=[], actor=creator)
    other_id = client.get("/api/tokens", headers=auth(other_token)).json["tokens"][0]["id"]
    assert client.delete(f"/api/tokens/{other_id}", headers=auth(team_token)).status_code == 404
    made = client.post("/api/tokens", json={"team_id": 2}, headers=auth(team_token))
    assert made.status_code == 403
    by_organiser = client.post("/api/tokens", json={"team_id": 2, "days": 1}, headers=auth(organiser_token))
    assert by_organiser.status_code == 201 and by_organiser.json["role"] == "team"


@pytest.mark.parametrize("body", [{"days": 0}, {"days": "3"}, {"label": 5}, {"days": 99999}])
def test_bad_token_requests_are_400(client, team_token, body):
    assert client.post("/api/tokens", json=body, headers=auth(team_token)).status_code == 400


def test_state_changes_are_in_the_audit_trail_with_their_actor(client, organiser_token, team_token):
    made = client.post("/api/teams", json={"name": "Audited"}, headers=auth(organiser_token)).json
    client.post("/api/tokens", json={"label": "x"}, headers=auth(made["token"]))
    events = client.get("/api/audit", headers=auth(organiser_token)).json["events"]
    actions = [(e["action"], e["actor"].split(":")[0]) for e in events]
    assert ("team.create", "organiser") in actions and ("token.create", "team") in actions
    assert client.get("/api/audit", headers=auth(team_token)).status_code == 403
