"""Who acts, and over which challenges: the `Principal` a bearer token stands for, and the query
of the challenges a principal runs. Below accounts, tenancy and audit, which all name them; the
rules themselves are in permissions.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from arena.models import Challenge, ChallengeOrganiser
from arena.services import permissions


@dataclass(frozen=True)
class Principal:
    role: str  # "organiser", "team" or "administrator"
    id: int
    name: str


def challenges_run_by(session, who):
    """A query of the ids of the challenges `who` runs (every challenge for the administrator)."""
    if permissions.is_administrator(who):
        return select(Challenge.id)
    if who is None or who.role != permissions.ORGANISER:
        return select(Challenge.id).where(Challenge.id.is_(None))
    co = select(ChallengeOrganiser.challenge_id).where(ChallengeOrganiser.organiser_id == who.id)
    return select(Challenge.id).where(or_(Challenge.organiser_id == who.id, Challenge.id.in_(co)))
