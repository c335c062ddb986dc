"""Organisers, teams, factories and their bearer tokens (stored only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arena.db import advisory_lock
from arena.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from arena.models import Administrator, Factory, Organiser, Team, TeamFactory, Token
from arena.runtime import Platform
from arena.services import audit, permissions
from arena.services.names import clean_name, refuse_confusable
from arena.services.principals import Principal
from arena.timeutil import iso, utcnow

TOKEN_PREFIX = "arena_"
NAME_RE = re.compile(r"^[\w][\w .,'&()-]{0,99}$", re.UNICODE)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str, what: str) -> str:
    name = clean_name(name, what)
    if not NAME_RE.match(name):
        raise BadRequest(f"{what} name must be 1-100 characters: letters, digits, spaces and . , ' & ( ) -")
    return name


def create_organiser(platform: Platform, *, name: str) -> tuple[Principal, str]:
    return _create_holder(platform, role="organiser", model=Organiser, name=name, distinct=Organiser.name)


def _refuse_confusable(session, column, name: str, what: str, *, same_ok: bool = False) -> None:
    advisory_lock(session, "names")  # two look-alike names made at once: the second waits, then is refused
    refuse_confusable(session, column, name, what, same_ok=same_ok)


def create_administrator(platform: Platform, *, name: str) -> tuple[Principal, str]:
    """A platform administrator (on the server's machine only): sees across every challenge."""
    return _create_holder(platform, role="administrator", model=Administrator, name=name)


def _create_holder(platform: Platform, *, role: str, model, name: str, distinct=None) -> tuple[Principal, str]:
    """An organiser or administrator (`model`) named `name`, with its first token (`role`), audited;
    with `distinct`, a name that looks like one in that column is refused."""
    name = _check_name(name, role)
    token = _new_token()
    try:
        with platform.transaction() as session:
            if distinct is not None:
                _refuse_confusable(session, distinct, name, role)
            holder = model(name=name)
            session.add(holder)
            session.flush()
            session.add(Token(token_hash=hash_token(token), role=role, label="first", **{f"{role}_id": holder.id}))
            audit.record(session, actor=None, action=f"{role}.create", target=f"{role}:{holder.id}")
    except IntegrityError:
        raise Conflict(f"an {role} named {name!r} exists already") from None
    return Principal(role, holder.id, name), token


def _factory(session, name: str) -> Factory:
    _refuse_confusable(session, Factory.name, name, "factory", same_ok=True)
    factory = session.scalar(select(Factory).where(Factory.name == name))
    if factory is None:
        factory = Factory(name=name)
        session.add(factory)
        session.flush()
    return factory


def parse_shares(factories: list[str]) -> list[tuple[str, float | None]]:
    """'NAME' or 'NAME:SHARE' (SHARE a number; shares are normalised to sum to 1)."""
    parsed: list[tuple[str, float | None]] = []
    for entry in factories:
        name, sep, share = entry.rpartition(":") if ":" in entry else (entry, "", "")
        if sep:
            try:
                value = float(share)
            except ValueError:
                raise BadRequest(f"factory share {share!r} is not a number; write NAME:SHARE") from None
            if not 0 < value < 1e6:
                raise BadRequest("a factory's share must be a positive number")
            parsed.append((name, value))
        else:
            parsed.append((entry, None))
    return parsed


def _shares(parsed: list[tuple[str, float | None]]) -> dict[str, float]:
    given = [s for _n, s in parsed if s is not None]
    if given and len(given) != len(parsed):
        raise BadRequest("give a share for every factory of the alliance, or for none (equal shares)")
    total = sum(given) if given else float(len(parsed))
    return {name: (share if share is not None else 1.0) / total for name, share in parsed}


def create_team(platform: Platform, *, name: str, factories: list[str], actor=None) -> tuple[Principal, str]:
    """A team of one or more factories (an alliance when several), with declared shares. `actor`:
    the organiser creating it (it alone, with the team, may make the team's tokens), or None for
    the server's own tools."""
    if actor is not None and not permissions.may_create_team(actor):
        raise Forbidden("teams are created by organisers")
    name = _check_name(name, "team")
    parsed = [(_check_name(f, "factory"), s) for f, s in parse_shares(factories)] or [(name, None)]
    names = [n for n, _s in parsed]
    if len(set(names)) != len(names):
        raise BadRequest("a factory is named twice; name each factory of the team once")
    shares = _shares(parsed)
    token = _new_token()
    try:
        with platform.transaction() as session:
            _refuse_confusable(session, Team.name, name, "team")
            creator = actor.id if actor is not None and actor.role == "organiser" else None
            team = Team(name=name, created_by=creator)
            session.add(team)
            session.flush()
            for factory_name in names:
                factory = _factory(session, factory_name)
                session.add(TeamFactory(team_id=team.id, factory_id=factory.id, share=shares[factory_name]))
            session.add(Token(token_hash=hash_token(token), role="team", team_id=team.id, label="first"))
            audit.record(
                session,
                actor=actor,
                action="team.create",
                target=f"team:{team.id}",
                detail={"name": name, "factories": shares},
            )
    except IntegrityError:
        raise Conflict(f"a team named {name!r} exists already") from None
    return Principal("team", team.id, name), token


def authenticate(platform: Platform, *, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("this needs a token: send 'Authorization: Bearer <token>' (ARENA_TOKEN)")
    return authenticate_hash(platform, token_hash=hash_token(token))


def authenticate_hash(platform: Platform, *, token_hash: str) -> Principal:
    """Who holds the token with this hash (a web session keeps only the hash)."""
    with platform.sessions() as session:
        row = session.scalar(select(Token).where(Token.token_hash == token_hash, Token.revoked_at.is_(None)))
        if row is None:
            raise Unauthorized("the token is not valid (mistyped, revoked or from another server)")
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise Unauthorized(
                "the token has expired; ask your organiser for a new one "
                "(POST /api/tokens with a token that still works)"
            )
        if row.role == "organiser":
            organiser = session.get(Organiser, row.organiser_id)
            return Principal("organiser", organiser.id, organiser.name)
        if row.role == "administrator":
            admin = session.get(Administrator, row.administrator_id)
            return Principal("administrator", admin.id, admin.name)
        team = session.get(Team, row.team_id)
        return Principal("team", team.id, team.name)


# -- tokens -----------------------------------------------------------------------------------------
MAX_TOKEN_DAYS = 3650


def _token_view(row: Token) -> dict:
    return {
        "id": row.id,
        "role": row.role,
        "team_id": row.team_id,
        "organiser_id": row.organiser_id,
        "label": row.label,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
        "revoked_at": iso(row.revoked_at),
    }


def _check_team_token(session, actor: Principal, team_id: int) -> None:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"no team with id {team_id}")
    if not permissions.may_make_team_token(actor, team_id=team_id, team_creator_id=team.created_by):
        if actor.role == "team":
            raise Forbidden("a team can only make tokens for itself")
        raise Forbidden(f"only the organiser that created team {team_id}, or the team itself, may make its tokens")


def _own_token(actor: Principal) -> Token:
    if actor.role == "team":
        return Token(role="team", team_id=actor.id)
    if actor.role == "administrator":
        return Token(role="administrator", administrator_id=actor.id)
    return Token(role="organiser", organiser_id=actor.id)


def create_token(
    platform: Platform, *, actor: Principal, team_id: int | None = None, label: str = "", days: int | None = None
) -> tuple[dict, str]:
    """A new token: for the actor itself, or for a team (the team itself, the organiser that
    created it, or the administrator). Shown once."""
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise BadRequest(f"expiry must be from 1 to {MAX_TOKEN_DAYS} days")
    if team_id is not None and actor.role == "team" and team_id != actor.id:
        raise Forbidden("a team can only make tokens for itself")
    token = _new_token()
    expires = utcnow() + timedelta(days=days) if days else None
    with platform.transaction() as session:
        if team_id is not None:
            _check_team_token(session, actor, team_id)
            row = Token(role="team", team_id=team_id)
        else:
            row = _own_token(actor)
        row.token_hash, row.label, row.expires_at = hash_token(token), label[:100] or None, expires
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="token.create",
            target=f"token:{row.id}",
            detail={"role": row.role, "team_id": row.team_id, "expires_at": iso(expires)},
        )
        return _token_view(row), token


def _candidates(actor: Principal):
    """A query narrowing the tokens to those `actor` may list and revoke; the rule itself is
    permissions.may_revoke_token, applied to each row."""
    if actor.role == "administrator":
        return select(Token)
    if actor.role == "organiser":
        created = select(Team.id).where(Team.created_by == actor.id)
        return (
            select(Token)
            .where(Token.organiser_id == actor.id, Token.role == "organiser")
            .union_all(select(Token).where(Token.role == "team", Token.team_id.in_(created)))
        )
    return select(Token).where(Token.role == "team", Token.team_id == actor.id)


def _facts(session, row: Token) -> permissions.TokenFacts:
    creator = session.get(Team, row.team_id).created_by if row.team_id is not None else None
    return permissions.TokenFacts(
        role=row.role,
        organiser_id=row.organiser_id,
        administrator_id=row.administrator_id,
        team_id=row.team_id,
        team_creator_id=creator,
    )


def list_tokens(platform: Platform, *, actor: Principal) -> list[dict]:
    """The tokens `actor` may revoke (its own, and those of the teams it may make tokens for)."""
    with platform.sessions() as session:
        ids = select(_candidates(actor).subquery().c.id)
        rows = session.scalars(select(Token).where(Token.id.in_(ids)).order_by(Token.id))
        return [_token_view(t) for t in rows if permissions.may_revoke_token(actor, _facts(session, t))]


def revoke_token(platform: Platform, *, actor: Principal, token_id: int) -> dict:
    with platform.transaction() as session:
        row = session.get(Token, token_id)
        if row is None or not permissions.may_revoke_token(actor, _facts(session, row)):
            raise NotFound(f"no token {token_id} among those you may revoke")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(session, actor=actor, action="token.revoke", target=f"token:{row.id}")
        return _token_view(row)
