"""The permission rules (arena/services/permissions.py), tested directly: no database, no app."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from arena.services import permissions as p


@dataclass(frozen=True)
class Who:
    role: str
    id: int
    name: str = ""


OWNER, CO, OTHER = Who("organiser", 1), Who("organiser", 2), Who("organiser", 3)
ADMIN, TEAM, OTHER_TEAM = Who("administrator", 1), Who("team", 1), Who("team", 2)
# An administrator and a team whose ids equal the owner's: ids of different roles never mix.
LOOKALIKES = (Who("administrator", 1), Who("team", 1))
CHALLENGE = p.ChallengeFacts(owner_id=1, co_organiser_ids=frozenset({2}))


@pytest.mark.parametrize(
    ("who", "runs", "changes_organisers"),
    [
        (OWNER, True, True),
        (CO, True, False),
        (OTHER, False, False),
        (ADMIN, True, True),
        (TEAM, False, False),
        (OTHER_TEAM, False, False),
        (None, False, False),
    ],
)
def test_who_runs_a_challenge_and_who_chooses_its_organisers(who, runs, changes_organisers):
    assert p.may_run_challenge(who, CHALLENGE) is runs
    assert p.may_read_hidden_log(who, CHALLENGE) is runs
    assert p.may_change_organisers(who, CHALLENGE) is changes_organisers


def test_a_team_or_administrator_with_the_owners_id_is_not_the_owner():
    assert not any(p.owns(who, CHALLENGE) or p.organises(who, CHALLENGE) for who in LOOKALIKES)
    assert not p.may_run_challenge(Who("team", 1), CHALLENGE)


@pytest.mark.parametrize(
    ("who", "sees"),
    [(TEAM, True), (OTHER_TEAM, False), (OWNER, True), (CO, True), (OTHER, False), (ADMIN, True), (None, False)],
)
def test_a_submission_is_seen_by_its_team_and_whoever_runs_its_challenge(who, sees):
    assert p.may_see_submission(who, team_id=1, challenge=CHALLENGE) is sees


@pytest.mark.parametrize(
    ("who", "creator", "may"),
    [
        (TEAM, None, True),
        (OTHER_TEAM, None, False),
        (OWNER, 1, True),
        (OTHER, 1, False),
        (OWNER, None, False),
        (ADMIN, None, True),
        (ADMIN, 3, True),
        (None, 1, False),
    ],
)
def test_team_tokens_come_from_the_team_its_creator_or_the_administrator(who, creator, may):
    assert p.may_make_team_token(who, team_id=1, team_creator_id=creator) is may
    token = p.TokenFacts(role="team", team_id=1, team_creator_id=creator)
    assert p.may_revoke_token(who, token) is may  # revoke only what you may make


@pytest.mark.parametrize(
    ("token", "allowed"),
    [
        (p.TokenFacts(role="organiser", organiser_id=1), {"owner", "admin"}),
        (p.TokenFacts(role="organiser", organiser_id=3), {"other", "admin"}),
        (p.TokenFacts(role="administrator", administrator_id=1), {"admin"}),
        (p.TokenFacts(role="administrator", administrator_id=9), set()),
    ],
)
def test_organiser_and_administrator_tokens_are_revoked_by_their_holder_or_the_administrator(token, allowed):
    everyone = {"owner": OWNER, "co": CO, "other": OTHER, "admin": ADMIN, "team": TEAM, "other team": OTHER_TEAM}
    assert {name for name, who in everyone.items() if p.may_revoke_token(who, token)} == allowed


def test_only_organisers_create_challenges_and_teams_and_only_the_administrator_sees_the_whole_audit():
    for who, organiser in ((OWNER, True), (ADMIN, False), (TEAM, False), (None, False)):
        assert p.may_create_challenge(who) is organiser and p.may_create_team(who) is organiser
    assert [p.may_see_whole_audit(w) for w in (OWNER, ADMIN, TEAM)] == [False, True, False]
