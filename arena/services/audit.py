"""The audit trail: every state-changing action, with its actor. Written in the action's own
transaction, so an action and its audit event land together or not at all."""

from __future__ import annotations

from sqlalchemy import select

from arena.models import AuditEvent
from arena.platform import Platform
from arena.timeutil import iso


def actor_name(principal) -> str:
    if principal is None:
        return "server-admin"
    return f"{principal.role}:{principal.id}:{principal.name}"


def record(session, *, actor, action: str, target: str | None = None, detail: dict | None = None) -> None:
    session.add(AuditEvent(actor=actor_name(actor), action=action, target=target, detail=detail))


def list_events(platform: Platform, *, limit: int = 200) -> list[dict]:
    with platform.sessions() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
        return [{"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action,
                 "target": e.target, "detail": e.detail} for e in rows]
