"""Who may do what: the platform's permission rules, in one place, pure (no database, no I/O).

The API, the pages and the services ask these functions; they read the facts (who owns a
challenge, who created a team) from the database and pass them in. docs/api.md has the same
rules as a table; tests/arena/services/test_permissions.py tests them directly, and
tests/arena/api/test_authorization_matrix.py checks every route against them.

| who                   | may                                                                  |
|-----------------------|----------------------------------------------------------------------|
| anyone                | read what is public: challenges, boards, rounds, reports, the log     |
| a team                | submit, register, read its own submissions, sample logs, predictions, |
|                       | choose and describe its entries, make and revoke its own tokens       |
| an organiser          | create challenges and teams; make tokens for itself and for the teams |
|                       | it created, and revoke those                                          |
| a challenge's         | everything private about that challenge: its submissions with private |
| organisers (its owner | scores, attempts and errors; hidden-run logs (named reason, audited,  |
| and co-organisers)    | the team told); registrations; rounds; versions; reveals; readmission |
| its owner             | and add or remove its co-organisers                                   |
| the administrator     | all of the above on every challenge, for every team (never creates    |
|                       | challenges or teams); the whole audit trail                           |
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORGANISER, TEAM, ADMINISTRATOR = "organiser", "team", "administrator"


@dataclass(frozen=True)
class ChallengeFacts:
    """Who runs a challenge: its owner (the organiser that created it) and its co-organisers."""

    owner_id: int
    co_organiser_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TokenFacts:
    """Whose a token is: an organiser's, an administrator's, or a team's (and who created that team)."""

    role: str
    organiser_id: int | None = None
    administrator_id: int | None = None
    team_id: int | None = None
    team_creator_id: int | None = None


def is_administrator(who) -> bool:
    return who is not None and who.role == ADMINISTRATOR


def owns(who, challenge: ChallengeFacts) -> bool:
    return who is not None and who.role == ORGANISER and who.id == challenge.owner_id


def organises(who, challenge: ChallengeFacts) -> bool:
    """The challenge's owner or one of its co-organisers (the administrator is neither)."""
    return owns(who, challenge) or (who is not None and who.role == ORGANISER and who.id in challenge.co_organiser_ids)


def may_run_challenge(who, challenge: ChallengeFacts) -> bool:
    """Everything private about a challenge: registrations, rounds, versions, reveals, the teams on
    it, its submissions with private scores, attempts and errors, its queue and failures."""
    return is_administrator(who) or organises(who, challenge)


def may_change_organisers(who, challenge: ChallengeFacts) -> bool:
    """Adding or removing co-organisers: the owner (and the administrator), not a co-organiser."""
    return is_administrator(who) or owns(who, challenge)


def may_read_hidden_log(who, challenge: ChallengeFacts) -> bool:
    """A hidden run's log, which may carry hidden inputs: never a team; the challenge's organisers
    and the administrator, each read named with its reason, audited, and shown to the team."""
    return may_run_challenge(who, challenge)


def may_see_submission(who, *, team_id: int, challenge: ChallengeFacts) -> bool:
    """A submission: its own team, or whoever runs its challenge."""
    return (who is not None and who.role == TEAM and who.id == team_id) or may_run_challenge(who, challenge)


def may_create_challenge(who) -> bool:
    return who is not None and who.role == ORGANISER


def may_create_team(who) -> bool:
    return who is not None and who.role == ORGANISER


def may_make_team_token(who, *, team_id: int, team_creator_id: int | None) -> bool:
    """A token for a team: the team itself, the organiser that created the team, or the administrator."""
    if who is None:
        return False
    if who.role == TEAM:
        return who.id == team_id
    if who.role == ORGANISER:
        return team_creator_id is not None and who.id == team_creator_id
    return is_administrator(who)


def may_revoke_token(who, token: TokenFacts) -> bool:
    """A token may be revoked (and listed) by whoever may make it."""
    if token.role == TEAM and token.team_id is not None:
        return may_make_team_token(who, team_id=token.team_id, team_creator_id=token.team_creator_id)
    if token.role == ORGANISER:
        return is_administrator(who) or (who is not None and who.role == ORGANISER and who.id == token.organiser_id)
    if token.role == ADMINISTRATOR:
        return is_administrator(who) and who.id == token.administrator_id
    return False


def may_see_whole_audit(who) -> bool:
    """The whole audit trail; an organiser sees its own actions and those on its challenges."""
    return is_administrator(who)
