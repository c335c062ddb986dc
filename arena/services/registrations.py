"""Teams register for a challenge: at once where registration is open, or pending the
organiser's approval where it is not. Submitting needs an approved registration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arena.errors import Conflict, Forbidden, NotFound
from arena.models import Registration, Team
from arena.runtime import Platform
from arena.services import audit, tenancy
from arena.services.lookups import get_challenge
from arena.timeutil import iso, utcnow


def _view(row: Registration, slug: str, team: str | None = None) -> dict:
    return {
        "challenge": slug,
        "team_id": row.team_id,
        "team": team,
        "status": row.status,
        "created_at": iso(row.created_at),
        "decided_at": iso(row.decided_at),
    }


def register(platform: Platform, *, team, slug: str) -> dict:
    try:
        return _register(platform, team=team, slug=slug)
    except IntegrityError:  # two requests of the team raced; the first one's row stands
        return _register(platform, team=team, slug=slug)


def _register(platform: Platform, *, team, slug: str) -> dict:
    with platform.transaction() as session:
        challenge = get_challenge(session, slug)
        row = session.get(Registration, (challenge.id, team.id))
        if row is None:
            status = "approved" if challenge.registration == "open" else "pending"
            row = Registration(
                challenge_id=challenge.id,
                team_id=team.id,
                status=status,
                created_at=utcnow(),
                decided_at=utcnow() if status == "approved" else None,
            )
            session.add(row)
            audit.record(
                session,
                actor=team,
                action="registration.request",
                target=f"challenge:{slug}",
                detail={"status": status},
            )
        return _view(row, slug, team.name)


def ensure_registered(session, *, challenge, team, register: bool = True) -> None:
    """Called when a submission arrives: open challenges register the team on the spot."""
    row = session.get(Registration, (challenge.id, team.id))
    if row is None and challenge.registration == "open":
        if not register:
            return
        session.add(
            Registration(
                challenge_id=challenge.id, team_id=team.id, status="approved", created_at=utcnow(), decided_at=utcnow()
            )
        )
        return
    if row is None:
        raise Forbidden(
            f"{challenge.slug} needs the organiser's approval to take part: register with "
            f"`arena challenge register {challenge.slug}`, then wait for approval"
        )
    if row.status == "eliminated":
        raise Forbidden(
            f"your team was eliminated from {challenge.slug} after missing its KPI in "
            f"{row.kpi_misses} rounds in a row; only its organiser can re-admit it"
        )
    if row.status == "refused":
        raise Forbidden(f"the organiser of {challenge.slug} refused your team's registration")
    if row.status != "approved":
        raise Forbidden(f"your registration for {challenge.slug} is pending: the organiser has not approved it yet")


def decide(platform: Platform, *, organiser, slug: str, team_id: int, approve: bool) -> dict:
    with platform.transaction() as session:
        challenge = tenancy.run_challenge(session, who=organiser, slug=slug, what="decide on its registrations")
        row = session.get(Registration, (challenge.id, team_id))
        if row is None:
            raise NotFound(f"team {team_id} has not asked to take part in {slug}")
        if row.status == "eliminated":
            raise Conflict(
                f"team {team_id} was eliminated from {slug} for missing its KPI; re-admit it with "
                "`arena round readmit`, which also starts its count of misses afresh"
            )
        row.status, row.decided_at = ("approved" if approve else "refused"), utcnow()
        audit.record(
            session,
            actor=organiser,
            action=f"registration.{row.status}",
            target=f"challenge:{slug}",
            detail={"team_id": team_id},
        )
        return _view(row, slug, session.get_one(Team, team_id).name)


def list_registrations(platform: Platform, *, organiser, slug: str) -> list[dict]:
    with platform.sessions() as session:
        challenge = tenancy.run_challenge(session, who=organiser, slug=slug, what="see its registrations")
        rows = session.execute(
            select(Registration, Team.name)
            .join(Team, Team.id == Registration.team_id)
            .where(Registration.challenge_id == challenge.id)
        ).all()
        return [_view(row, slug, name) for row, name in rows]
