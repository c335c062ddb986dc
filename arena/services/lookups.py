"""Lookups shared by services, inside a caller's session."""

from __future__ import annotations

from sqlalchemy import select

from arena.errors import NotFound
from arena.models import Challenge, HiddenSet


def get_challenge(session, slug: str) -> Challenge:
    # No slug is longer than 64 characters or holds a NUL (which PostgreSQL cannot even compare).
    found = len(slug) <= 64 and "\x00" not in slug
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug)) if found else None
    if challenge is None:
        raise NotFound(f"no challenge {slug[:64]!r}; `arena challenge list` or / lists them")
    return challenge


def current_hidden_set(session, challenge_id: int) -> HiddenSet:
    return session.scalars(
        select(HiddenSet).where(HiddenSet.challenge_id == challenge_id).order_by(HiddenSet.version.desc()).limit(1)
    ).one()
