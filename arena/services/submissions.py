"""Submissions: created with their first job, read by their team or an organiser."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from arena.errors import NotFound, QuotaExceeded
from arena.models import Job, Submission
from arena.platform import Platform
from arena.services.accounts import Principal
from arena.services.lookups import current_hidden_set, get_challenge
from arena.timeutil import iso, next_utc_midnight, utcnow

INFRASTRUCTURE = "infrastructure"


def _check_quota(session, *, challenge, team_id: int) -> None:
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    used = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.team_id == team_id,
            Submission.created_at >= day_start,
            (Submission.failure_reason.is_(None)) | (Submission.failure_reason != INFRASTRUCTURE),
        )
    )
    if used >= challenge.daily_quota:
        resets = next_utc_midnight(now)
        raise QuotaExceeded(
            f"your team has used its {challenge.daily_quota} submissions for today on "
            f"{challenge.slug}; the quota resets at {iso(resets)}",
            headers={"Retry-After": str(int((resets - now).total_seconds()) + 1)},
        )


def check_quota(platform: Platform, *, team_id: int, slug: str) -> None:
    """Refuse early (429) when the team has no submission left today: before a large upload."""
    with platform.sessions() as session:
        _check_quota(session, challenge=get_challenge(session, slug), team_id=team_id)


def create_submission(platform: Platform, *, team_id: int, slug: str, image_digest: str) -> dict:
    with platform.transaction() as session:
        challenge = get_challenge(session, slug)
        _check_quota(session, challenge=challenge, team_id=team_id)
        hidden = current_hidden_set(session, challenge.id)
        submission = Submission(
            id="sub-" + secrets.token_hex(8), challenge_id=challenge.id, team_id=team_id,
            image_digest=image_digest, hidden_set_id=hidden.id, status="queued",
        )
        session.add(submission)
        session.flush()
        session.add(Job(id="job-" + secrets.token_hex(8), submission_id=submission.id))
        session.flush()
        return submission_view(submission)


def submission_view(submission: Submission) -> dict:
    return {
        "id": submission.id,
        "challenge": submission.challenge.slug,
        "team": submission.team.name,
        "image_digest": submission.image_digest,
        "status": submission.status,
        "score": submission.score,
        "failure_reason": submission.failure_reason,
        "failure_detail": submission.failure_detail,
        "created_at": iso(submission.created_at),
        "updated_at": iso(submission.updated_at),
    }


def _attempts(session, submission_id: str) -> list[dict]:
    """Each job of a submission, with what went wrong: for organisers only."""
    jobs = session.scalars(select(Job).where(Job.submission_id == submission_id).order_by(Job.attempt))
    return [{"job": j.id, "attempt": j.attempt, "status": j.status, "outcome": j.outcome,
             "error": j.error, "exit_code": j.exit_code, "duration_s": j.duration_s,
             "started_at": iso(j.started_at), "finished_at": iso(j.finished_at)} for j in jobs]


def get_submission(platform: Platform, *, principal: Principal, submission_id: str) -> dict:
    with platform.sessions() as session:
        submission = session.get(Submission, submission_id)
        visible = submission is not None and (
            principal.role == "organiser" or submission.team_id == principal.id
        )
        if not visible:
            # The same answer whether it does not exist or belongs to another team.
            raise NotFound(f"no submission {submission_id!r} among those you may see")
        view = submission_view(submission)
        if principal.role == "organiser":
            view["attempts"] = _attempts(session, submission.id)
        return view


def list_submissions(platform: Platform, *, principal: Principal, slug: str | None = None) -> list[dict]:
    with platform.sessions() as session:
        query = select(Submission).order_by(Submission.created_at.desc())
        if principal.role == "team":
            query = query.where(Submission.team_id == principal.id)
        if slug:
            query = query.where(Submission.challenge_id == get_challenge(session, slug).id)
        return [submission_view(s) for s in session.scalars(query.limit(500))]
