"""What a run printed and wrote, and who may read it: a sample run's log and predictions for its
team and organisers; a hidden run's log only for the challenge's organisers, with a reason that
is recorded and shown to the team; what a scoring container printed, never for a team."""

from __future__ import annotations

from sqlalchemy import select

from arena.errors import BadRequest, Forbidden, NotFound
from arena.models import AuditEvent, HiddenSet, Job, Submission
from arena.runtime import Platform
from arena.services import audit, permissions, tenancy
from arena.services.accounts import Principal
from arena.services.submission_views import LOG_READ, log_reads, visible
from arena.timeutil import iso, utcnow
from hidden_sets import unseal

HIDDEN_LOGS = (
    "logs of runs on hidden data are never shown to teams: they could carry the hidden "
    "inputs out. Debug on the public sample set: `arena submit --sample`, then `arena logs`"
)


READ_WITH_REASON = (
    "a hidden run's log may carry hidden inputs: reading it is an audited action that "
    'names its reason, and the team is told. Use `arena logs ID --reason "..."` '
    '(POST /api/submissions/ID/log-reads with {"reason": ...}) or the console\'s form'
)


def _last_log(session, submission: Submission) -> tuple[Job | None, bytes | None]:
    job = session.scalars(
        select(Job).where(Job.submission_id == submission.id).order_by(Job.attempt.desc()).limit(1)
    ).first()
    return job, (job.log if job is not None else None)


def _log_view(submission: Submission, raw: bytes | None) -> dict:
    return {
        "id": submission.id,
        "kind": submission.kind,
        "status": submission.status,
        "failure_reason": submission.failure_reason,
        "failure_detail": submission.failure_detail,
        "log": None if raw is None else raw.decode("utf-8", errors="replace"),
    }


def get_log(platform: Platform, *, principal: Principal, submission_id: str) -> dict:
    """The container's output of a sample run's last attempt: its team and the challenge's
    organisers. A hidden run's log is read only with a reason (read_hidden_log)."""
    with platform.sessions() as session:
        submission = visible(session, principal, submission_id)
        if submission.kind != "sample":
            raise Forbidden(HIDDEN_LOGS if principal.role == "team" else READ_WITH_REASON)
        job, raw = _last_log(session, submission)
        found = _log_view(submission, raw)
        if principal.role != "team":  # what a scoring container printed: never for a team
            found["scorer_log"] = _scorer_log(platform, session, submission, job)
        return found


def check_reason(reason) -> str:
    if not isinstance(reason, str) or not 10 <= len(reason.strip()) <= 500 or not reason.strip().isprintable():
        raise BadRequest(
            "say why you read this log: a reason of 10-500 printable characters (it is recorded, and shown to the team)"
        )
    return reason.strip()


def _organisation(principal: Principal) -> str:
    if principal.role == "administrator":
        return f"the platform administrator ({principal.name})"
    return principal.name


def read_hidden_log(platform: Platform, *, principal: Principal, submission_id: str, reason) -> dict:
    """A hidden run's log (decrypted), for the challenge's organisers or the administrator, with a
    reason: recorded in the audit trail in the same transaction, and shown to the team."""
    reason = check_reason(reason)
    with platform.transaction() as session:
        submission = visible(session, principal, submission_id)
        if not permissions.may_read_hidden_log(principal, tenancy.facts(session, submission.challenge)):
            raise Forbidden(HIDDEN_LOGS)
        if submission.kind == "sample":
            raise BadRequest("this is a sample run: its log needs no reason (GET /api/submissions/ID/log)")
        job, raw = _last_log(session, submission)
        if raw is not None:
            hidden = session.get_one(HiddenSet, submission.hidden_set_id)
            assert job is not None  # the log came from it
            key = platform.hidden_sets.open_data_key(
                key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
            )
            raw = unseal(key.key, purpose=f"log/{job.id}", sealed=raw)
        found = _log_view(submission, raw)
        found["scorer_log"] = _scorer_log(platform, session, submission, job)
        at = utcnow()
        session.add(
            AuditEvent(
                at=at,
                actor=audit.actor_name(principal),
                action=LOG_READ,
                target=f"submission:{submission.id}",
                detail={
                    "reason": reason,
                    "organisation": _organisation(principal),
                    "challenge": submission.challenge.slug,
                    "job": job.id if job else None,
                },
            )
        )
        return {**found, "read": {"at": iso(at), "organisation": _organisation(principal), "reason": reason}}


def team_log_reads(platform: Platform, *, team_id: int) -> list[dict]:
    """Every read of this team's hidden-run logs, newest first: for its dashboard."""
    with platform.sessions() as session:
        rows = session.execute(
            select(Submission.id, Submission.challenge_id).where(
                Submission.team_id == team_id, Submission.kind == "hidden"
            )
        ).all()
        reads = log_reads(session, [r.id for r in rows])
        slugs = (
            {s.id: s.challenge.slug for s in session.scalars(select(Submission).where(Submission.id.in_(list(reads))))}
            if reads
            else {}
        )
    found = [{"submission": sid, "challenge": slugs[sid], **read} for sid, items in reads.items() for read in items]
    return sorted(found, key=lambda r: r["at"], reverse=True)


def _data_key(platform: Platform, session, submission: Submission):
    hidden = session.get(HiddenSet, submission.hidden_set_id)
    return platform.hidden_sets.open_data_key(
        key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
    )


def _scorer_log(platform: Platform, session, submission: Submission, job: Job | None) -> str | None:
    if job is None or job.scorer_log is None:
        return None
    raw = unseal(_data_key(platform, session, submission).key, purpose=f"scorer-log/{job.id}", sealed=job.scorer_log)
    return raw.decode("utf-8", errors="replace")


def sample_predictions(platform: Platform, *, principal: Principal, submission_id: str):
    """The predictions file of a sample run; never kept for runs on hidden data."""
    from arena.evaluation import predictions_copy

    with platform.sessions() as session:
        submission = visible(session, principal, submission_id)
        if submission.kind != "sample":
            raise Forbidden("predictions of runs on hidden data are never kept or shown")
    path = predictions_copy(platform, submission_id)
    if not path.is_file():
        raise NotFound("this sample run left no predictions file")
    return path
