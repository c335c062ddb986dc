"""Recording a verdict: in one transaction that checks the worker still holds the job, the job
closed, the submission's results stored, the public score released through the Ladder (or held
back), and the result appended to the public log."""

from __future__ import annotations

import logging

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import evaluators
from arena.evaluation import scorer
from arena.evaluation.job import JobVerdict, SplitScore, Ticket
from arena.models import Job, Result, Submission
from arena.runtime import Platform
from arena.services import leases, publiclog
from arena.timeutil import utcnow

log = logging.getLogger("arena.evaluation")


def record(platform: Platform, ticket: Ticket, verdict: JobVerdict) -> bool:
    """Store the verdict if this worker still holds the job, in the transaction that checks it
    (the job row locked against a racing sweep or give-back); returns whether it was stored.

    A job taken from this worker drops its verdict. A submission that has a result keeps it:
    a later attempt's verdict, scored or failed, is kept on the job only (for the organisers).
    SQLite may refuse a write that raced another process's: the check and write are retried."""
    for attempt in range(3):
        try:
            with platform.transaction() as session:
                return _record(platform, session, ticket, verdict)
        except OperationalError:
            if attempt == 2:
                raise
            log.info("job %s: recording collided with another writer; trying again", ticket.job_id)
    return False


def _record(platform: Platform, session, ticket: Ticket, verdict: JobVerdict) -> bool:
    job = session.get(Job, ticket.job_id, with_for_update=True)
    if job.status != "running" or job.worker != ticket.worker:
        log.warning("job %s was taken from this worker; its verdict is dropped", job.id)
        return False
    submission = session.get(Submission, ticket.submission_id, with_for_update={"of": Submission})
    _close_job(job, verdict)
    if verdict.status == "retry":
        _requeue_or_fail(platform, session, job, verdict.reason)
    elif submission.status == "scored" or leases.has_result(session, submission.id):
        job.outcome = "superseded"  # another attempt recorded this submission's result first
        log.warning(
            "job %s: submission %s has a result already; this verdict is kept on the job only", job.id, submission.id
        )
    elif verdict.status == "scored":
        submission.status, submission.updated_at = "scored", utcnow()
        _record_results(platform, session, ticket, submission, job, verdict)
    else:
        submission.status, submission.updated_at = "failed", utcnow()
        submission.failure_reason, submission.failure_detail = verdict.reason, verdict.detail
    return True


def _requeue_or_fail(platform: Platform, session, job: Job, reason: str | None) -> None:
    """A platform failure re-queues the job (up to the platform's attempts); a scorer that failed
    re-queues it once, then fails it as the scorer's fault, never counted against the team."""
    if reason == scorer.SCORER_FAILED:
        leases.requeue_or_fail(
            platform,
            session,
            job,
            attempts=min(scorer.SCORER_ATTEMPTS, platform.settings.max_attempts),
            failure=(scorer.SCORER_FAILED, scorer.TEAM_DETAIL),
        )
    else:
        leases.requeue_or_fail(platform, session, job)


def _close_job(job: Job, verdict: JobVerdict) -> None:
    outcome = verdict.outcome
    job.status = "failed" if verdict.status == "retry" else "done"
    job.finished_at, job.outcome = utcnow(), verdict.reason or verdict.status
    job.exit_code = outcome.exit_code if outcome else None
    job.log, job.scorer_log = verdict.log, verdict.scorer_log
    job.trajectory = verdict.trajectory
    job.duration_s = round(outcome.duration_s) if outcome else None
    if verdict.status == "retry":
        job.error = verdict.detail


def _released_best(session, ticket: Ticket, submission) -> Result | None:
    return session.scalars(
        select(Result)
        .join(Submission, Submission.id == Result.submission_id)
        .where(
            Submission.team_id == submission.team_id,
            Submission.challenge_id == submission.challenge_id,
            Result.split == "public",
            Result.released.is_(True),
            Result.hidden_set_id == ticket.hidden_set.id,
        )
        .order_by(Result.id.desc())
        .limit(1)
    ).first()


def _ladder(session, ticket: Ticket, submission, public: SplitScore) -> bool:
    """Release the new public score only if it beats the team's released best beyond noise."""
    best = _released_best(session, ticket, submission)
    if best is None or best.item_scores is None:
        return True
    best_losses = np.frombuffer(best.item_scores, dtype="<f8")
    if best_losses.shape != public.item_losses.shape:
        return True
    return evaluators.ladder_improves(best_losses, public.item_losses)


def _record_results(platform: Platform, session, ticket: Ticket, submission, job, verdict: JobVerdict) -> None:
    shown = verdict.score  # sample runs: the score; hidden runs: the released public one, or none
    for name, split in verdict.splits.items():
        row = Result(
            submission_id=submission.id,
            job_id=job.id,
            split=name,
            score=split.score,
            n_items=split.n_items,
            hidden_set_id=ticket.hidden_set.id,
            hidden_set_root=ticket.hidden_set.root,
            ci_low=split.low,
            ci_high=split.high,
            item_scores_sha256=publiclog.scores_digest(
                split.item_scores, salt=publiclog.scores_salt(platform, submission_id=submission.id, split=name)
            ),
            secondary=split.secondary or None,
            slices=split.slices or None,
        )
        if name in ("public", "private"):  # per-item losses: for the Ladder, and the round's paired tests
            row.item_scores = split.item_losses.astype("<f8").tobytes()
        if name == "public":
            released = _ladder(session, ticket, submission, split)
            row.released = released
            row.released_score = evaluators.on_grid(split.score, split.n_items) if released else None
            shown = row.released_score  # private scores wait for the round's close
            _log_result(platform, session, ticket, submission, row)
        session.add(row)
    submission.score = shown


def _log_result(platform: Platform, session, ticket: Ticket, submission, row: Result) -> None:
    shown = bool(row.released)  # an unreleased score stays unknown: no interval or digest either
    publiclog.append(
        platform,
        session,
        kind="result",
        challenge=ticket.challenge,
        data={
            "submission": submission.id,
            "team": submission.team.name,
            "split": "public",
            "metric": ticket.metric,
            "score": row.released_score,
            "released": row.released,
            "ci_low": row.ci_low if shown else None,
            "ci_high": row.ci_high if shown else None,
            "n_items": row.n_items,
            "item_scores_sha256": row.item_scores_sha256 if shown else None,
            "secondary": _rounded(row.secondary) if shown else None,
            **({"slices": _rounded(row.slices) if shown else None} if row.slices else {}),
            "hidden_set": ticket.hidden_set.id,
            "hidden_set_root": ticket.hidden_set.root,
            **({"scorer_image": ticket.scorer["image_digest"]} if ticket.scorer else {}),
        },
    )


def _rounded(secondary: dict | None) -> dict | None:
    """Secondary scores as published: only beside a released primary score, to 4 decimals (the
    Ladder guards the primary metric; this keeps the others from being a finer probe)."""
    if not secondary:
        return None
    return {
        name: None if v is None else {k: None if x is None else round(x, 4) for k, x in v.items()}
        for name, v in secondary.items()
    }
