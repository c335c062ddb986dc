"""Lookups shared by services, inside a caller's session."""

from __future__ import annotations

from sqlalchemy import select

from arena.errors import NotFound
from arena.models import Challenge, HiddenSet


def get_challenge(session, slug: str) -> Challenge:
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None:
        raise NotFound(f"no challenge {slug!r}; `arena challenge list` or / lists them")
    return challenge


def current_hidden_set(session, challenge_id: int) -> HiddenSet:
    return session.scalars(
        select(HiddenSet).where(HiddenSet.challenge_id == challenge_id).order_by(HiddenSet.version.desc()).limit(1)
    ).one()
