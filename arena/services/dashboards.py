"""What the team dashboard and the organiser console show, read in one place each."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from arena.models import Challenge, HiddenSet, Job, LogEntry, Registration, Submission, Team
from arena.runtime import Platform
from arena.services import principals, rounds, sites, tenancy
from arena.services.submissions import counts_against_quota
from arena.timeutil import iso, next_utc_midnight, utcnow


def receipts(platform: Platform, *, submission_ids: list[str]) -> dict[str, dict]:
    """The signed public-log receipt of each hidden submission: seq, leaf hash, signature."""
    wanted = set(submission_ids)
    found: dict[str, dict] = {}
    if not wanted:
        return found
    with platform.sessions() as session:
        for entry in session.scalars(select(LogEntry).where(LogEntry.kind == "submission.receipt")):
            body = json.loads(entry.body)
            if body["data"]["submission"] in wanted:
                found[body["data"]["submission"]] = {
                    "seq": entry.seq,
                    "leaf_hash": entry.leaf_hash,
                    "signature": entry.signature,
                    "at": body["at"],
                }
    return found


def quotas(platform: Platform, *, team_id: int) -> list[dict]:
    """For each challenge the team takes part in: runs used today and left, and when it resets."""
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    with platform.sessions() as session:
        rows = session.execute(
            select(Challenge, Registration.status)
            .join(Registration, Registration.challenge_id == Challenge.id)
            .where(Registration.team_id == team_id)
            .order_by(Challenge.slug)
        ).all()
        for challenge, status in rows:
            for kind in ("hidden", "sample"):
                used = session.scalar(
                    select(func.count(Submission.id)).where(
                        Submission.challenge_id == challenge.id,
                        Submission.team_id == team_id,
                        Submission.kind == kind,
                        Submission.created_at >= day_start,
                        counts_against_quota(challenge),
                    )
                )
                out.append(
                    {
                        "challenge": challenge.slug,
                        "registration": status,
                        "kind": kind,
                        "used": used,
                        "left": max(0, challenge.daily_quota - used),
                        "quota": challenge.daily_quota,
                        "resets_at": iso(next_utc_midnight(now)),
                    }
                )
    return out


def console(platform: Platform, *, who) -> dict:
    """The challenges `who` runs (owns or co-organises; all of them for the administrator) with
    their versions, rounds and registrations, their queue and recent failures."""
    with platform.sessions() as session:
        mine = session.scalars(
            select(Challenge)
            .where(Challenge.id.in_(principals.challenges_run_by(session, who)))
            .order_by(Challenge.created_at.desc())
        ).all()
        ids = [c.id for c in mine]
        challenges = [_challenge_view(session, challenge) for challenge in mine]
        queue = _queue(session, ids)
        failures = _failures(session, ids)
    for item in challenges:
        item["rounds"] = rounds.list_rounds(platform, slug=item["slug"])["rounds"]
    return {"challenges": challenges, "queue": queue, "failures": failures}


def _challenge_view(session, challenge: Challenge) -> dict:
    """One challenge on the console: its organisers, hidden-set versions and registrations."""
    versions = session.scalars(
        select(HiddenSet).where(HiddenSet.challenge_id == challenge.id).order_by(HiddenSet.version)
    ).all()
    registrations = session.execute(
        select(Registration, Team.name)
        .join(Team, Team.id == Registration.team_id)
        .where(Registration.challenge_id == challenge.id)
        .order_by(Team.name)
    ).all()
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "metric": challenge.metric,
        "organisers": tenancy.organisers_view(session, challenge),
        "versions": [
            {"version": v.version, "n_items": v.n_items, "root": v.root, "created_at": iso(v.created_at)}
            for v in versions
        ],
        "registrations": [
            {"team_id": r.team_id, "team": name, "status": r.status, "misses": r.kpi_misses}
            for r, name in registrations
        ],
    }


def _queue(session, challenge_ids: list[int]) -> list[dict]:
    """The latest 100 queued, running and failed jobs of these challenges, newest first; a queued
    job says why it waits (no site's partition fits it, say)."""
    jobs = session.execute(
        select(Job, Submission, Team.name, Challenge.slug)
        .join(Submission, Job.submission_id == Submission.id)
        .join(Team, Team.id == Submission.team_id)
        .join(Challenge, Challenge.id == Submission.challenge_id)
        .where(Submission.challenge_id.in_(challenge_ids), Job.status.in_(("queued", "running", "failed")))
        .order_by(Job.created_at.desc())
        .limit(100)
    ).all()
    queue = [
        {
            "job": j.id,
            "submission": s.id,
            "team": team,
            "challenge": slug,
            "kind": s.kind,
            "status": j.status,
            "attempt": j.attempt,
            "executor": j.executor,
            "external_id": j.external_id,
            "error": j.error,
            "outcome": j.outcome,
            "created_at": iso(j.created_at),
        }
        for j, s, team, slug in jobs
    ]
    waiting = sites.queued_reasons(session, [q["submission"] for q in queue if q["status"] == "queued"])
    for item in queue:
        item["waiting_reason"] = waiting.get(item["submission"]) if item["status"] == "queued" else None
    return queue


def _failures(session, challenge_ids: list[int]) -> list[dict]:
    """The latest 50 failed submissions of these challenges, newest first, with their reasons."""
    failed = session.execute(
        select(Submission, Team.name, Challenge.slug)
        .join(Team, Team.id == Submission.team_id)
        .join(Challenge, Challenge.id == Submission.challenge_id)
        .where(Submission.challenge_id.in_(challenge_ids), Submission.status == "failed")
        .order_by(Submission.updated_at.desc())
        .limit(50)
    ).all()
    return [
        {
            "submission": s.id,
            "team": team,
            "challenge": slug,
            "kind": s.kind,
            "reason": s.failure_reason,
            "detail": s.failure_detail,
            "at": iso(s.updated_at),
        }
        for s, team, slug in failed
    ]
