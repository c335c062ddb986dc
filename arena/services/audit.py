"""The audit trail: every state-changing action, with its actor. Written in the action's own
transaction, so an action and its audit event land together or not at all."""

from __future__ import annotations

from sqlalchemy import literal, or_, select

from arena.models import AuditEvent, Challenge, Submission, Team, Token
from arena.runtime import Platform
from arena.services.permissions import may_see_whole_audit
from arena.services.principals import challenges_run_by
from arena.timeutil import iso


def actor_name(principal) -> str:
    if principal is None:
        return "server-admin"
    return f"{principal.role}:{principal.id}:{principal.name}"


def record(session, *, actor, action: str, target: str | None = None, detail: dict | None = None) -> None:
    session.add(AuditEvent(actor=actor_name(actor), action=action, target=target, detail=detail))


def _concerning(session, who):
    """Events an organiser may see: its own actions, those on the challenges it runs (and on their
    submissions), and those on the tokens of the teams it created."""
    runs = challenges_run_by(session, who)
    slugs = select(literal("challenge:").op("||")(Challenge.slug)).where(Challenge.id.in_(runs))
    subs = select(literal("submission:").op("||")(Submission.id)).where(Submission.challenge_id.in_(runs))
    created = (
        select(Team.id).where(Team.created_by == who.id)
        if who.role == "organiser"
        else select(Team.id).where(Team.id.is_(None))
    )
    tokens = select(literal("token:").op("||")(Token.id)).where(Token.team_id.in_(created))
    return or_(
        AuditEvent.actor == actor_name(who),
        AuditEvent.target.in_(slugs),
        AuditEvent.target.in_(subs),
        AuditEvent.target.in_(tokens),
    )


def list_events(platform: Platform, *, who, limit: int = 200) -> list[dict]:
    """The latest events, newest first: all of them for the administrator (or the server's own
    tools, `who` None); for an organiser, those that concern it (_concerning)."""
    with platform.sessions() as session:
        query = select(AuditEvent)
        if who is not None and not may_see_whole_audit(who):
            query = query.where(_concerning(session, who))
        rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))
        return [
            {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
            for e in rows
        ]
