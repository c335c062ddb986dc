"""Many organisers on one platform: an organiser acts only on the challenges it owns or
co-organises and on the teams it created; the administrator alone sees across challenges; a
hidden run's log is read only with a reason, audited, and the team is told.

The first tests reproduce the breaches an outside review found (another organiser reading a hidden
log, seeing private scores, making a token for a team it did not create, revoking another
organiser's tokens)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from conftest import auth, web_sign_in
from helpers import make_bundle, make_image_tarball

from arena.services import accounts
from arena.services.challenges import create_challenge
from arena.worker import Worker

SECRET_LOOKING = b"printed input: {'x': 3}"


@dataclass
class World:
    client: object
    platform: object
    owner: str
    other: str
    admin: str
    team: str
    team_id: int
    hidden: str
    sample: str


@pytest.fixture
def world(client, platform, fake_runner, tmp_path) -> World:
    """Owner Org created challenge toy and Team A; Team A ran one hidden and one sample run on it;
    Other Org is an organiser too, with a challenge of its own; and an administrator."""
    owner, owner_token = accounts.create_organiser(platform, name="Owner Org")
    other, other_token = accounts.create_organiser(platform, name="Other Org")
    _admin, admin_token = accounts.create_administrator(platform, name="Platform Ops")
    team, team_token = accounts.create_team(platform, name="Team A", factories=["Factory A"], actor=owner)
    create_challenge(platform, organiser_id=owner.id, bundle_dir=make_bundle(tmp_path / "b", n=4))
    create_challenge(platform, organiser_id=other.id, bundle_dir=make_bundle(tmp_path / "c", slug="theirs", n=4))
    fake_runner.predict = lambda item: "even"
    fake_runner.log = SECRET_LOOKING
    make_image_tarball(tmp_path / "i.tar")
    ids = []
    for kind in ("hidden", "sample"):
        made = client.post(
            f"/api/challenges/toy/submissions?kind={kind}",
            data=(tmp_path / "i.tar").read_bytes(),
            headers={**auth(team_token), "Content-Type": "application/x-tar"},
        )
        assert made.status_code == 201, made.json
        ids.append(made.json["id"])
    assert Worker(platform).drain() == 2
    return World(client, platform, owner_token, other_token, admin_token, team_token, team.id, *ids)


# -- the breaches, reproduced ----------------------------------------------------------------------
def test_another_organiser_cannot_read_a_hidden_log(world):
    c = world.client
    assert c.get(f"/api/submissions/{world.hidden}/log", headers=auth(world.other)).status_code in (403, 404)
    asked = c.post(
        f"/api/submissions/{world.hidden}/log-reads", json={"reason": "just looking around"}, headers=auth(world.other)
    )
    assert asked.status_code == 404 and SECRET_LOOKING.decode() not in asked.get_data(as_text=True)


def test_another_organiser_cannot_see_private_scores(world):
    c = world.client
    assert c.get(f"/api/submissions/{world.hidden}", headers=auth(world.other)).status_code == 404
    assert c.get("/api/submissions", headers=auth(world.other)).json["submissions"] == []
    assert c.get("/api/submissions?challenge=toy", headers=auth(world.other)).status_code == 403
    mine = c.get(f"/api/submissions/{world.hidden}", headers=auth(world.owner)).json
    assert {r["split"] for r in mine["results"]} == {"public", "private"}


def test_another_organiser_cannot_make_a_token_for_a_team_it_did_not_create(world):
    made = world.client.post("/api/tokens", json={"team_id": world.team_id}, headers=auth(world.other))
    assert made.status_code == 403 and "created" in made.json["error"]["message"]
    by_owner = world.client.post("/api/tokens", json={"team_id": world.team_id}, headers=auth(world.owner))
    assert by_owner.status_code == 201 and by_owner.json["role"] == "team"


def test_another_organiser_cannot_revoke_or_list_others_tokens(world):
    c = world.client
    owner_tokens = c.get("/api/tokens", headers=auth(world.owner)).json["tokens"]
    assert {t["role"] for t in owner_tokens} == {"organiser", "team"}  # its own, and Team A's
    assert c.get("/api/tokens", headers=auth(world.other)).json["tokens"] == [
        t for t in c.get("/api/tokens", headers=auth(world.other)).json["tokens"] if t["role"] == "organiser"
    ]
    for token in owner_tokens:
        assert c.delete(f"/api/tokens/{token['id']}", headers=auth(world.other)).status_code == 404
    assert c.get("/api/me", headers=auth(world.owner)).status_code == 200
    assert c.get("/api/me", headers=auth(world.team)).status_code == 200


def test_another_organiser_cannot_run_the_challenge(world):
    c, h = world.client, auth(world.other)
    assert c.get("/api/challenges/toy/registrations", headers=h).status_code == 403
    assert (
        c.post(f"/api/challenges/toy/registrations/{world.team_id}", json={"approve": False}, headers=h).status_code
        == 403
    )
    assert c.post("/api/challenges/toy/reveal", json={"all": True}, headers=h).status_code == 403
    assert c.get("/api/challenges/toy/organisers", headers=h).status_code == 403
    events = c.get("/api/audit", headers=h).json["events"]
    assert not [e for e in events if "toy" in str(e["target"]) or "Team A" in str(e["detail"])]


# -- co-organisers ---------------------------------------------------------------------------------
def test_the_owner_adds_and_removes_a_co_organiser_audited(world):
    c = world.client
    assert (
        c.post("/api/challenges/toy/organisers", json={"organiser": "Other Org"}, headers=auth(world.other)).status_code
        == 403
    )
    added = c.post("/api/challenges/toy/organisers", json={"organiser": "Other Org"}, headers=auth(world.owner))
    assert added.status_code == 201 and [o["name"] for o in added.json["co_organisers"]] == ["Other Org"]
    assert (
        c.post("/api/challenges/toy/organisers", json={"organiser": "Other Org"}, headers=auth(world.owner)).status_code
        == 409
    )
    assert c.get(f"/api/submissions/{world.hidden}", headers=auth(world.other)).json["results"]
    assert c.get("/api/challenges/toy/registrations", headers=auth(world.other)).status_code == 200
    co_id = added.json["co_organisers"][0]["id"]
    # A co-organiser runs the challenge but does not choose who else does.
    assert c.delete(f"/api/challenges/toy/organisers/{co_id}", headers=auth(world.other)).status_code == 403
    assert c.delete(f"/api/challenges/toy/organisers/{co_id}", headers=auth(world.owner)).status_code == 200
    assert c.get(f"/api/submissions/{world.hidden}", headers=auth(world.other)).status_code == 404
    actions = [e["action"] for e in c.get("/api/audit", headers=auth(world.owner)).json["events"]]
    assert "challenge.organiser_add" in actions and "challenge.organiser_remove" in actions


def test_no_organiser_of_that_name_is_a_404_and_the_owner_cannot_be_removed(world):
    c, h = world.client, auth(world.owner)
    assert c.post("/api/challenges/toy/organisers", json={"organiser": "Nobody"}, headers=h).status_code == 404
    assert c.post("/api/challenges/toy/organisers", json={"organiser": 3}, headers=h).status_code == 400
    assert c.delete("/api/challenges/toy/organisers/1", headers=h).status_code == 404


# -- the administrator -----------------------------------------------------------------------------
def test_the_administrator_sees_across_challenges_but_creates_none(world, tmp_path):
    c, h = world.client, auth(world.admin)
    assert c.get("/api/me", headers=h).json["role"] == "administrator"
    assert {s["challenge"] for s in c.get("/api/submissions", headers=h).json["submissions"]} == {"toy"}
    assert c.get(f"/api/submissions/{world.hidden}", headers=h).json["results"]
    assert c.get("/api/challenges/theirs/registrations", headers=h).status_code == 200
    assert c.post("/api/tokens", json={"team_id": world.team_id}, headers=h).status_code == 201
    assert c.post("/api/teams", json={"name": "By Admin"}, headers=h).status_code == 403
    every = {e["actor"].split(":")[0] for e in c.get("/api/audit", headers=h).json["events"]}
    assert {"organiser", "team", "server-admin"} <= every


def test_create_administrator_is_a_server_command(tmp_path, monkeypatch):
    from arena.cli import main

    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    done = CliRunner().invoke(main, ["admin", "create-administrator", "Ops", "--init", "--json"])
    assert done.exit_code == 0, done.output
    assert re.search(r'"administrator": "Ops".*"token": "arena_', done.output)
    again = CliRunner().invoke(main, ["admin", "create-administrator", "Ops"])
    assert again.exit_code == 1 and "exists already" in again.output


# -- reading a hidden run's log --------------------------------------------------------------------
def test_reading_a_hidden_log_needs_a_reason_is_audited_and_the_team_is_told(world):
    c = world.client
    assert c.get(f"/api/submissions/{world.hidden}/log", headers=auth(world.owner)).status_code == 403
    for bad in ({}, {"reason": "why"}, {"reason": 42}, {"reason": "x" * 501}, {"reason": "tab\there and more"}):
        assert (
            c.post(f"/api/submissions/{world.hidden}/log-reads", json=bad, headers=auth(world.owner)).status_code == 400
        )
    read = c.post(
        f"/api/submissions/{world.hidden}/log-reads",
        json={"reason": "checking a crash report"},
        headers=auth(world.owner),
    )
    assert read.status_code == 201 and read.json["log"] == SECRET_LOOKING.decode()
    assert (
        c.post(
            f"/api/submissions/{world.hidden}/log-reads",
            json={"reason": "never for teams, no"},
            headers=auth(world.team),
        ).status_code
        == 403
    )
    told = c.get(f"/api/submissions/{world.hidden}", headers=auth(world.team)).json["log_reads"]
    assert [(r["organisation"], r["reason"]) for r in told] == [("Owner Org", "checking a crash report")]
    event = [
        e for e in c.get("/api/audit", headers=auth(world.owner)).json["events"] if e["action"] == "submission.log_read"
    ]
    assert (
        event[0]["target"] == f"submission:{world.hidden}" and event[0]["detail"]["reason"] == "checking a crash report"
    )
    # A sample run's log needs no reason (the team sees it too); nothing is recorded for it.
    assert c.get(f"/api/submissions/{world.sample}/log", headers=auth(world.owner)).json["log"]
    assert c.get(f"/api/submissions/{world.sample}", headers=auth(world.team)).json["log_reads"] == []


def test_the_team_dashboard_says_its_log_was_read(world):
    world.client.post(
        f"/api/submissions/{world.hidden}/log-reads",
        json={"reason": "investigating a timeout"},
        headers=auth(world.admin),
    )
    web_sign_in(world.client, world.team, role="team")
    page = world.client.get("/team").get_data(as_text=True)
    assert "Logs of your hidden runs that organisers read" in page
    assert "investigating a timeout" in page and "the platform administrator (Platform Ops)" in page


# -- the pages -------------------------------------------------------------------------------------
def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_console_shows_another_organiser_nothing_of_the_challenge(world):
    c = world.client
    web_sign_in(c, world.other, role="organiser")
    console = c.get("/console").get_data(as_text=True)
    assert "Team A" not in console and world.hidden not in console
    assert c.get(f"/console/submissions/{world.hidden}").status_code == 404
    csrf = _csrf(c.get("/console").get_data(as_text=True))
    read = c.post(f"/console/submissions/{world.hidden}/log", data={"csrf": csrf, "reason": "just looking around"})
    assert read.status_code == 404 and SECRET_LOOKING.decode() not in read.get_data(as_text=True)
    assert c.get("/console/challenges/toy/close").status_code == 403
    assert c.post("/console/challenges/toy/readmit/Team%20A", data={"csrf": csrf}).status_code == 403
    tokens = c.get("/console/tokens").get_data(as_text=True)
    made = c.post("/console/tokens", data={"csrf": csrf, "team_id": str(world.team_id), "label": "x"})
    assert "only the organiser that created team" in made.get_data(as_text=True) and "arena_" not in tokens


def test_the_console_reads_a_hidden_log_only_through_the_reasoned_form(world):
    c = world.client
    web_sign_in(c, world.owner, role="organiser")
    page = c.get(f"/console/submissions/{world.hidden}").get_data(as_text=True)
    assert SECRET_LOOKING.decode() not in page and 'name="reason"' in page
    short = c.post(f"/console/submissions/{world.hidden}/log", data={"csrf": _csrf(page), "reason": "x"})
    assert short.status_code == 400 and SECRET_LOOKING.decode() not in short.get_data(as_text=True)
    read = c.post(
        f"/console/submissions/{world.hidden}/log", data={"csrf": _csrf(page), "reason": "a team asked us to look"}
    )
    assert read.status_code == 200 and "printed input" in read.get_data(as_text=True)
    assert "a team asked us to look" in read.get_data(as_text=True)


def test_a_co_organiser_sees_the_challenge_in_its_console_with_who_runs_it(world):
    c = world.client
    c.post("/api/challenges/toy/organisers", json={"organiser": "Other Org"}, headers=auth(world.owner))
    web_sign_in(c, world.other, role="organiser")
    console = c.get("/console").get_data(as_text=True)
    assert "Owner: Owner Org" in console and "co-organisers:\n    Other Org" in console
    assert world.hidden in c.get(f"/console/submissions/{world.hidden}").get_data(as_text=True)


def test_the_administrators_console_shows_every_challenge_and_no_create_button(world):
    web_sign_in(world.client, world.admin, role="organiser")
    console = world.client.get("/console").get_data(as_text=True)
    assert "Every challenge" in console and "/challenges/toy" in console and "/challenges/theirs" in console
    assert "Create a challenge from a bundle" not in console
