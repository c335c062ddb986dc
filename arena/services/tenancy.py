"""Who runs each challenge: its owner (the organiser that created it) and the co-organisers the
owner adds. The rules are in permissions.py; this module reads the facts they need and keeps the
list of co-organisers (every change audited)."""

from __future__ import annotations

from sqlalchemy import select

from arena.errors import BadRequest, Conflict, Forbidden, NotFound
from arena.models import Challenge, ChallengeOrganiser, Organiser
from arena.runtime import Platform
from arena.services import audit, permissions
from arena.services.lookups import get_challenge
from arena.services.principals import Principal
from arena.services.principals import challenges_run_by as challenges_run_by  # its callers' old name
from arena.timeutil import iso, utcnow


def acting(actor, organiser_id: int | None):
    """Who acts: the principal given, or (for callers that pass only an id) that organiser."""
    if actor is not None:
        return actor
    return Principal(permissions.ORGANISER, organiser_id, "") if organiser_id is not None else None


def facts(session, challenge: Challenge) -> permissions.ChallengeFacts:
    co = session.scalars(
        select(ChallengeOrganiser.organiser_id).where(ChallengeOrganiser.challenge_id == challenge.id)
    ).all()
    return permissions.ChallengeFacts(owner_id=challenge.organiser_id, co_organiser_ids=frozenset(co))


def authorize(session, *, who, challenge: Challenge, what: str) -> None:
    """Forbidden unless `who` runs the challenge (its owner, a co-organiser, the administrator)."""
    if not permissions.may_run_challenge(who, facts(session, challenge)):
        raise Forbidden(f"only the organisers of {challenge.slug} may {what}")


def run_challenge(session, *, who, slug: str, what: str) -> Challenge:
    """The challenge `slug`, once `who` is found to run it."""
    challenge = get_challenge(session, slug)
    authorize(session, who=who, challenge=challenge, what=what)
    return challenge


def organisers_view(session, challenge: Challenge) -> dict:
    owner = session.get(Organiser, challenge.organiser_id)
    rows = session.execute(
        select(ChallengeOrganiser, Organiser.name)
        .join(Organiser, Organiser.id == ChallengeOrganiser.organiser_id)
        .where(ChallengeOrganiser.challenge_id == challenge.id)
        .order_by(Organiser.name)
    ).all()
    return {
        "challenge": challenge.slug,
        "owner": {"id": owner.id, "name": owner.name},
        "co_organisers": [{"id": row.organiser_id, "name": name, "added_at": iso(row.added_at)} for row, name in rows],
    }


def list_organisers(platform: Platform, *, who, slug: str) -> dict:
    with platform.sessions() as session:
        challenge = run_challenge(session, who=who, slug=slug, what="see who organises it")
        return organisers_view(session, challenge)


def _changeable(session, *, who, slug: str) -> Challenge:
    challenge = get_challenge(session, slug)
    if not permissions.may_change_organisers(who, facts(session, challenge)):
        raise Forbidden(f"only the owner of {slug} (the organiser that created it) adds or removes its co-organisers")
    return challenge


def add_organiser(platform: Platform, *, who, slug: str, name: object) -> dict:
    """Make the organiser named `name` a co-organiser of `slug`."""
    if not isinstance(name, str) or not name.strip():
        raise BadRequest('name the organiser to add: {"organiser": "<its name>"}')
    with platform.transaction() as session:
        challenge = _changeable(session, who=who, slug=slug)
        organiser = session.scalar(select(Organiser).where(Organiser.name == name.strip()))
        if organiser is None:
            raise NotFound(f"no organiser named {name.strip()!r}")
        if (
            organiser.id == challenge.organiser_id
            or session.get(ChallengeOrganiser, (challenge.id, organiser.id)) is not None
        ):
            raise Conflict(f"{organiser.name!r} organises {slug} already")
        session.add(ChallengeOrganiser(challenge_id=challenge.id, organiser_id=organiser.id, added_at=utcnow()))
        audit.record(
            session,
            actor=who,
            action="challenge.organiser_add",
            target=f"challenge:{slug}",
            detail={"organiser_id": organiser.id, "name": organiser.name},
        )
        session.flush()
        return organisers_view(session, challenge)


def remove_organiser(platform: Platform, *, who, slug: str, organiser_id: int) -> dict:
    with platform.transaction() as session:
        challenge = _changeable(session, who=who, slug=slug)
        row = session.get(ChallengeOrganiser, (challenge.id, organiser_id))
        if row is None:
            raise NotFound(f"organiser {organiser_id} is not a co-organiser of {slug} (its owner cannot be removed)")
        session.delete(row)
        audit.record(
            session,
            actor=who,
            action="challenge.organiser_remove",
            target=f"challenge:{slug}",
            detail={"organiser_id": organiser_id},
        )
        session.flush()
        return organisers_view(session, challenge)
