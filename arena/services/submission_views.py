"""What a submission looks like to those who may see it: its view (status, score, secondary scores,
the reads of its hidden-run log), its attempts and every split's results for the challenge's
organisers; one submission or a list."""

from __future__ import annotations

from sqlalchemy import select

from arena.errors import NotFound
from arena.models import AuditEvent, Job, Result, Site, Submission
from arena.runtime import Platform
from arena.services import permissions, publiclog, tenancy
from arena.services.accounts import Principal
from arena.services.lookups import get_challenge
from arena.timeutil import iso

LOG_READ = "submission.log_read"  # the audit action of reading a hidden run's log


def submission_view(submission: Submission) -> dict:
    return {
        "id": submission.id,
        "kind": submission.kind,
        "challenge": submission.challenge.slug,
        "team": submission.team.name,
        "image_digest": submission.image_digest,
        "status": submission.status,
        "score": submission.score,
        # Hidden runs: the public score is shown only when the Ladder released it.
        "selected": submission.selected,
        "method_card": submission.method_card,
        "released": (submission.score is not None)
        if submission.kind == "hidden" and submission.status == "scored"
        else None,
        "failure_reason": submission.failure_reason,
        "failure_detail": submission.failure_detail,
        "created_at": iso(submission.created_at),
        "updated_at": iso(submission.updated_at),
    }


def _attempts(session, submission_id: str) -> list[dict]:
    """Each job of a submission, with what went wrong: for organisers only."""
    jobs = session.scalars(select(Job).where(Job.submission_id == submission_id).order_by(Job.attempt))
    return [
        {
            "job": j.id,
            "attempt": j.attempt,
            "status": j.status,
            "outcome": j.outcome,
            "error": j.error,
            "exit_code": j.exit_code,
            "duration_s": j.duration_s,
            "executor": j.executor,
            "external_id": j.external_id,
            "site": session.get(Site, j.site_id).name if j.site_id else None,
            "started_at": iso(j.started_at),
            "finished_at": iso(j.finished_at),
        }
        for j in jobs
    ]


def runs(session, principal: Principal, submission: Submission) -> bool:
    """Whether `principal` runs the submission's challenge (its organisers, the administrator)."""
    return permissions.may_run_challenge(principal, tenancy.facts(session, submission.challenge))


def visible(session, principal: Principal, submission_id: str) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None or not permissions.may_see_submission(
        principal, team_id=submission.team_id, challenge=tenancy.facts(session, submission.challenge)
    ):
        # The same answer whether it does not exist or belongs to another team.
        raise NotFound(f"no submission {submission_id!r} among those you may see")
    return submission


def _results(session, submission_id: str) -> list[dict]:
    """Every split's score, private included: for organisers only, until the round closes."""
    rows = session.scalars(select(Result).where(Result.submission_id == submission_id).order_by(Result.split))
    return [
        {
            "split": r.split,
            "score": r.score,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "n_items": r.n_items,
            "released": r.released,
            "hidden_set_root": r.hidden_set_root,
        }
        for r in rows
    ]


def _shown_secondary(row: Result | None) -> dict | None:
    """A submission's secondary scores as its team sees them: a sample run's in full; a hidden
    run's on the public split only beside a released primary score, to 4 decimals (as logged)."""
    if row is None or not row.secondary or (row.split == "public" and not row.released):
        return None
    digits = 4 if row.split == "public" else 12
    return {
        name: None if v is None else {k: None if x is None else round(x, digits) for k, x in v.items()}
        for name, v in row.secondary.items()
    }


def _with_secondary(session, views: list[dict]) -> list[dict]:
    """Add each view's secondary scores (one query for them all)."""
    ids = [v["id"] for v in views]
    rows = (
        {
            r.submission_id: r
            for r in session.scalars(
                select(Result).where(Result.submission_id.in_(ids), Result.split.in_(("sample", "public")))
            )
        }
        if ids
        else {}
    )
    for view in views:
        view["secondary"] = _shown_secondary(rows.get(view["id"]))
    return views


def get_submission(platform: Platform, *, principal: Principal, submission_id: str) -> dict:
    with platform.sessions() as session:
        submission = visible(session, principal, submission_id)
        view = _with_secondary(session, [submission_view(submission)])[0]
        if runs(session, principal, submission):
            view["attempts"] = _attempts(session, submission.id)
            view["results"] = _results(session, submission.id)
        view["log_reads"] = log_reads(session, [submission.id]).get(submission.id, [])
    # The signed log entries about it: the receipt and each public result, for the team to keep.
    logged = publiclog.about(platform, submission=submission_id)
    view["receipt"] = next((e for e in logged if e["body"]["kind"] == "submission.receipt"), None)
    view["signed_results"] = [e for e in logged if e["body"]["kind"] == "result"]
    return view


def list_submissions(platform: Platform, *, principal: Principal, slug: str | None = None) -> list[dict]:
    """A team's own submissions; for organisers, those on the challenges they run (all of them for
    the administrator)."""
    with platform.sessions() as session:
        query = select(Submission).order_by(Submission.created_at.desc())
        if principal.role == "team":
            query = query.where(Submission.team_id == principal.id)
        else:
            query = query.where(Submission.challenge_id.in_(tenancy.challenges_run_by(session, principal)))
        if slug:
            challenge = get_challenge(session, slug)
            if principal.role != "team":
                tenancy.authorize(session, who=principal, challenge=challenge, what="see its submissions")
            query = query.where(Submission.challenge_id == challenge.id)
        return _with_secondary(session, [submission_view(s) for s in session.scalars(query.limit(500))])


def log_reads(session, submission_ids: list[str]) -> dict[str, list[dict]]:
    """Who read each submission's hidden-run log, when and why: for its team to see."""
    if not submission_ids:
        return {}
    targets = {f"submission:{i}": i for i in submission_ids}
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == LOG_READ, AuditEvent.target.in_(list(targets)))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(targets[row.target], []).append(
            {"at": iso(row.at), "organisation": row.detail["organisation"], "reason": row.detail["reason"]}
        )
    return found
