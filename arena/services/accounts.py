"""Organisers, teams, factories and their bearer tokens (stored only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, Conflict, Unauthorized
from arena.models import Factory, Organiser, Team, TeamFactory, Token
from arena.platform import Platform

TOKEN_PREFIX = "arena_"
NAME_RE = re.compile(r"^[\w][\w .,'&()-]{0,99}$", re.UNICODE)


@dataclass(frozen=True)
class Principal:
    role: str  # "organiser" or "team"
    id: int
    name: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise BadRequest(
            f"{what} name must be 1-100 characters: letters, digits, spaces and . , ' & ( ) -"
        )
    return name


def create_organiser(platform: Platform, *, name: str) -> tuple[Principal, str]:
    name = _check_name(name, "organiser")
    token = _new_token()
    try:
        with platform.transaction() as session:
            organiser = Organiser(name=name)
            session.add(organiser)
            session.flush()
            session.add(Token(token_hash=hash_token(token), role="organiser", organiser_id=organiser.id))
    except IntegrityError:
        raise Conflict(f"an organiser named {name!r} exists already") from None
    return Principal("organiser", organiser.id, name), token


def _factory(session, name: str) -> Factory:
    factory = session.scalar(select(Factory).where(Factory.name == name))
    if factory is None:
        factory = Factory(name=name)
        session.add(factory)
        session.flush()
    return factory


def create_team(platform: Platform, *, name: str, factories: list[str]) -> tuple[Principal, str]:
    """A team of one or more factories (an alliance when several), sharing equally for now."""
    name = _check_name(name, "team")
    names = [_check_name(f, "factory") for f in factories] or [name]
    if len(set(names)) != len(names):
        raise BadRequest("a factory is named twice; name each factory of the team once")
    token = _new_token()
    try:
        with platform.transaction() as session:
            team = Team(name=name)
            session.add(team)
            session.flush()
            for factory_name in names:
                factory = _factory(session, factory_name)
                session.add(TeamFactory(team_id=team.id, factory_id=factory.id, share=1 / len(names)))
            session.add(Token(token_hash=hash_token(token), role="team", team_id=team.id))
    except IntegrityError:
        raise Conflict(f"a team named {name!r} exists already") from None
    return Principal("team", team.id, name), token


def authenticate(platform: Platform, *, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("this needs a token: send 'Authorization: Bearer <token>' (ARENA_TOKEN)")
    with platform.sessions() as session:
        row = session.scalar(
            select(Token).where(Token.token_hash == hash_token(token), Token.revoked_at.is_(None))
        )
        if row is None:
            raise Unauthorized("the token is not valid (mistyped, revoked or from another server)")
        if row.role == "organiser":
            organiser = session.get(Organiser, row.organiser_id)
            return Principal("organiser", organiser.id, organiser.name)
        team = session.get(Team, row.team_id)
        return Principal("team", team.id, team.name)
