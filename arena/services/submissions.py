"""Submissions: created with their first job, read by their team or an organiser."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded, UserFacingError
from arena.models import AuditEvent, HiddenSet, Image, Job, Result, Round, Site, Submission
from arena.platform import Platform
from arena.services import audit, permissions, publiclog, tenancy
from arena.services.accounts import Principal
from arena.services.lookups import current_hidden_set, get_challenge
from arena.services.names import refuse_unsafe
from arena.services.registrations import ensure_registered
from arena.services.rounds import intake_round, stops_at
from arena.timeutil import iso, next_utc_midnight, utcnow
from hidden_sets import unseal

INFRASTRUCTURE = "infrastructure"
PLATFORM_FAILURES = (INFRASTRUCTURE, "scorer_failed")  # never the team's doing: never counted


KINDS = ("hidden", "sample")


def _check_kind(session, challenge, kind: str) -> None:
    if kind not in KINDS:
        raise BadRequest(
            "kind must be 'hidden' (scored on the hidden set) or 'sample' (a debug run on the public sample set)"
        )
    if kind == "sample" and not current_hidden_set(session, challenge.id).has_sample:
        raise BadRequest(f"challenge {challenge.slug!r} has no public sample set to run on")


def counts_against_quota(challenge):
    """The SQL condition on submissions that use up the daily quota. Platform failures never use up
    quota; a model's failures do unless the organiser says not."""
    if challenge.count_failures:
        return (Submission.failure_reason.is_(None)) | (Submission.failure_reason.not_in(PLATFORM_FAILURES))
    return Submission.status != "failed"


def _check_quota(session, *, challenge, team_id: int, kind: str = "hidden") -> None:
    """Hidden and sample runs each have the challenge's daily quota; platform failures are free."""
    _check_kind(session, challenge, kind)
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    used = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.team_id == team_id,
            Submission.kind == kind,
            Submission.created_at >= day_start,
            counts_against_quota(challenge),
        )
    )
    if used >= challenge.daily_quota:
        resets = next_utc_midnight(now)
        raise QuotaExceeded(
            f"your team has used its {challenge.daily_quota} {kind} runs for today on "
            f"{challenge.slug}; the quota resets at {iso(resets)}",
            headers={"Retry-After": str(int((resets - now).total_seconds()) + 1)},
        )


def check_quota(platform: Platform, *, team_id: int, slug: str, kind: str = "hidden") -> None:
    """Refuse early (403, 429) an unregistered team or a spent quota: before a large upload."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        ensure_registered(session, challenge=challenge, team=Principal("team", team_id, ""), register=False)
        _check_quota(session, challenge=challenge, team_id=team_id, kind=kind)
        if kind == "hidden":
            intake_round(session, challenge=challenge, now=utcnow())


def can_submit(platform: Platform, *, team_id: int, slug: str, kind: str = "hidden") -> dict:
    """The pre-flight before an upload: whether this team may submit to `slug` now (registration,
    an open round, the daily quota, the cap on waiting runs), with the server's reason if not.
    The submission itself checks all of it again."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        answer = {
            "challenge": slug,
            "kind": kind,
            "ok": True,
            "reason": None,
            "status": 200,
            "retry_after": None,
            **_usage(session, challenge=challenge, team_id=team_id, kind=kind),
        }
        try:
            ensure_registered(session, challenge=challenge, team=Principal("team", team_id, ""), register=False)
            _check_quota(session, challenge=challenge, team_id=team_id, kind=kind)
            _check_pending(session, challenge=challenge, team_id=team_id)
            if kind == "hidden":
                found = intake_round(session, challenge=challenge, now=utcnow())
                answer["round"] = found.name if found else None
        except UserFacingError as exc:
            answer.update(ok=False, reason=exc.message, status=exc.status, retry_after=exc.headers.get("Retry-After"))
        finally:
            session.rollback()  # intake_round may pin a round's hidden set; a question changes nothing
        return answer


def _usage(session, *, challenge, team_id: int, kind: str) -> dict:
    """Runs of `kind` used today (those that count) and left, and runs waiting or running now."""
    now = utcnow()
    used = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.team_id == team_id,
            Submission.kind == kind,
            Submission.created_at >= now.replace(hour=0, minute=0, second=0, microsecond=0),
            counts_against_quota(challenge),
        )
    )
    pending = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.team_id == team_id,
            Submission.status.in_(("queued", "running")),
        )
    )
    return {
        "quota": {
            "daily": challenge.daily_quota,
            "used": used,
            "left": max(0, challenge.daily_quota - used),
            "resets_at": iso(next_utc_midnight(now)),
        },
        "pending": pending,
        "max_pending": challenge.max_pending,
    }


def _check_pending(session, *, challenge, team_id: int) -> None:
    pending = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.team_id == team_id,
            Submission.status.in_(("queued", "running")),
        )
    )
    if pending >= challenge.max_pending:
        raise QuotaExceeded(
            f"your team has {pending} submissions waiting or running on {challenge.slug}, the most "
            "it may have at once; submit again when one of them has finished",
            headers={"Retry-After": "30"},
        )


def _replay(session, *, team_id: int, key: str | None) -> Submission | None:
    if not key:
        return None
    return session.scalar(select(Submission).where(Submission.team_id == team_id, Submission.idempotency_key == key))


def check_idempotency_key(key: str | None) -> str | None:
    if key is not None and not (1 <= len(key) <= 100 and key.isprintable()):
        raise BadRequest("Idempotency-Key must be 1-100 printable characters")
    return key


def find_replay(platform: Platform, *, team_id: int, key: str | None) -> dict | None:
    """The submission an earlier request with this Idempotency-Key made, if any."""
    with platform.sessions() as session:
        found = _replay(session, team_id=team_id, key=key)
        return submission_view(found) if found else None


def create_submission(
    platform: Platform,
    *,
    team_id: int,
    slug: str,
    image_digest: str,
    kind: str = "hidden",
    idempotency_key: str | None = None,
    actor: Principal | None = None,
) -> dict:
    """One submission and its first job, in one transaction; a retried request with the same
    Idempotency-Key gets the first submission back instead of a second one."""
    arguments: dict[str, Any] = {
        "team_id": team_id,
        "slug": slug,
        "image_digest": image_digest,
        "kind": kind,
        "idempotency_key": idempotency_key,
        "actor": actor,
    }
    try:
        return _create_submission(platform, **arguments)
    except IntegrityError:  # a team's first submissions racing each other both registered it
        return _create_submission(platform, **arguments)  # once more, registered


def _create_submission(
    platform: Platform,
    *,
    team_id: int,
    slug: str,
    image_digest: str,
    kind: str,
    idempotency_key: str | None,
    actor: Principal | None,
) -> dict:
    try:
        with platform.transaction() as session:
            if (earlier := _replay(session, team_id=team_id, key=idempotency_key)) is not None:
                return submission_view(earlier)
            challenge = get_challenge(session, slug)
            ensure_registered(session, challenge=challenge, team=actor or Principal("team", team_id, ""))
            if challenge.protocol == "agent" and not (challenge.environment or {}).get("image_digest"):
                raise Conflict(
                    f"{slug} is an agent challenge whose environment image its organiser has "
                    "not uploaded yet; try again later"
                )
            _check_quota(session, challenge=challenge, team_id=team_id, kind=kind)
            _check_pending(session, challenge=challenge, team_id=team_id)
            _check_platform(session, challenge=challenge, image_digest=image_digest)
            hidden = current_hidden_set(session, challenge.id)
            round_ = intake_round(session, challenge=challenge, now=utcnow()) if kind == "hidden" else None
            submission = Submission(
                id="sub-" + secrets.token_hex(8),
                challenge_id=challenge.id,
                team_id=team_id,
                image_digest=image_digest,
                hidden_set_id=hidden.id,
                status="queued",
                kind=kind,
                idempotency_key=idempotency_key,
                round_id=round_.id if round_ else None,
            )
            session.add(submission)
            session.flush()
            session.add(Job(id="job-" + secrets.token_hex(8), submission_id=submission.id))
            audit.record(
                session,
                actor=actor,
                action="submission.receive",
                target=f"submission:{submission.id}",
                detail={"challenge": slug, "image_digest": image_digest, "kind": kind},
            )
            view = submission_view(submission)
            if kind == "hidden":  # debug runs on the public sample are not part of the record
                view["receipt"] = publiclog.append(
                    platform,
                    session,
                    kind="submission.receipt",
                    challenge=slug,
                    data={
                        "submission": submission.id,
                        "team": submission.team.name,
                        "image_digest": image_digest,
                        "hidden_set": hidden.id,
                        "round": round_.number if round_ else None,
                    },
                )
            return view
    except IntegrityError:
        # The same Idempotency-Key raced in twice: the first one stands.
        replay = find_replay(platform, team_id=team_id, key=idempotency_key)
        if replay is None:
            raise
        return replay


def image_of_team(platform: Platform, *, team_id: int, image_digest: str) -> str:
    """Resubmitting by digest: only an image this team has itself uploaded before."""
    from arena.services.uploads import uploaded_by

    with platform.sessions() as session:
        known = session.scalar(
            select(Submission.id).where(Submission.team_id == team_id, Submission.image_digest == image_digest).limit(1)
        )
        known = known or uploaded_by(session, team_id=team_id, image_digest=image_digest)
    if not known:
        raise NotFound(f"your team has not uploaded image {image_digest!r}; upload it with `arena submit`")
    return image_digest


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


def _check_platform(session, *, challenge, image_digest: str) -> None:
    """The image is built for one of the platforms the challenge accepts (challenge.yaml)."""
    image = session.get(Image, image_digest)
    accepted = (challenge.hardware or {}).get("platforms") or ["linux/amd64"]
    if image is not None and f"linux/{image.architecture}" not in accepted:
        raise BadRequest(
            f"the image is built for linux/{image.architecture}; challenge {challenge.slug!r} accepts "
            f"{', '.join(accepted)} (docker build --platform {accepted[0]})"
        )


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


def _runs(session, principal: Principal, submission: Submission) -> bool:
    """Whether `principal` runs the submission's challenge (its organisers, the administrator)."""
    return permissions.may_run_challenge(principal, tenancy.facts(session, submission.challenge))


def _visible(session, principal: Principal, submission_id: str) -> Submission:
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
        submission = _visible(session, principal, submission_id)
        view = _with_secondary(session, [submission_view(submission)])[0]
        if _runs(session, principal, submission):
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


HIDDEN_LOGS = (
    "logs of runs on hidden data are never shown to teams: they could carry the hidden "
    "inputs out. Debug on the public sample set: `arena submit --sample`, then `arena logs`"
)


READ_WITH_REASON = (
    "a hidden run's log may carry hidden inputs: reading it is an audited action that "
    'names its reason, and the team is told. Use `arena logs ID --reason "..."` '
    '(POST /api/submissions/ID/log-reads with {"reason": ...}) or the console\'s form'
)
LOG_READ = "submission.log_read"


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
        submission = _visible(session, principal, submission_id)
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
        submission = _visible(session, principal, submission_id)
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
        submission = _visible(session, principal, submission_id)
        if submission.kind != "sample":
            raise Forbidden("predictions of runs on hidden data are never kept or shown")
    path = predictions_copy(platform, submission_id)
    if not path.is_file():
        raise NotFound("this sample run left no predictions file")
    return path


MAX_SELECTED = 2


def _round_still_open(session, submission: Submission, *, what: str) -> Round | None:
    """The submission's round (None without rounds); Conflict once it stopped taking submissions,
    when the team's `what` about it are final."""
    round_ = session.get(Round, submission.round_id) if submission.round_id else None
    if round_ is not None and (round_.status != "scheduled" or stops_at(round_) <= utcnow()):
        raise Conflict(f"{round_.name} has stopped taking submissions; its {what} are final")
    return round_


def select_for_final(platform: Platform, *, principal: Principal, submission_id: str, selected: bool) -> dict:
    """A team chooses (at most two of) its scored hidden submissions for the final ranking: of a
    round, on challenges with rounds, until that round stops taking submissions."""
    with platform.transaction() as session:
        submission = _visible(session, principal, submission_id)
        if principal.role != "team":
            raise Forbidden("teams choose their own final submissions")
        if selected and (submission.kind != "hidden" or submission.status != "scored"):
            raise BadRequest("only a scored submission on the hidden set can count for the final ranking")
        round_ = _round_still_open(session, submission, what="choices")
        if selected and not submission.selected:
            chosen = session.execute(
                select(func.count(Submission.id)).where(
                    Submission.team_id == submission.team_id,
                    Submission.challenge_id == submission.challenge_id,
                    Submission.round_id == submission.round_id if round_ else Submission.round_id.is_(None),
                    Submission.selected.is_(True),
                )
            ).scalar_one()
            if chosen >= MAX_SELECTED:
                raise Conflict(f"your team has chosen {MAX_SELECTED} submissions already; unselect one first")
        submission.selected = selected
        audit.record(
            session,
            actor=principal,
            action="submission.select",
            target=f"submission:{submission.id}",
            detail={"selected": selected},
        )
        return submission_view(submission)


CARD_KEYS = {"name", "description", "code_url", "licence", "open_source"}


def check_method_card(card) -> dict:
    """A method card: name (1-100), description (up to 2,000), code_url (http(s)), licence (up to
    100, e.g. an SPDX id), open_source (true needs a code_url and a licence)."""
    if not isinstance(card, dict) or set(card) - CARD_KEYS:
        raise BadRequest(f"a method card is an object with the keys {', '.join(sorted(CARD_KEYS))}")
    name, description = card.get("name"), card.get("description", "")
    code_url, licence, open_source = card.get("code_url"), card.get("licence"), card.get("open_source", False)
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise BadRequest("method card: name must be text of 1-100 characters")
    if not isinstance(description, str) or len(description) > 2000:
        raise BadRequest("method card: description must be text of at most 2,000 characters")
    if code_url is not None and (
        not isinstance(code_url, str) or len(code_url) > 500 or not code_url.startswith(("https://", "http://"))
    ):
        raise BadRequest("method card: code_url must be an http(s) address of at most 500 characters")
    if licence is not None and (not isinstance(licence, str) or not 1 <= len(licence.strip()) <= 100):
        raise BadRequest("method card: licence must be text of 1-100 characters, e.g. Apache-2.0")
    if not isinstance(open_source, bool):
        raise BadRequest("method card: open_source must be true or false")
    if open_source and not (code_url and licence):
        raise BadRequest("method card: an open-source entry needs its code_url and its licence")
    for key, value in (("name", name), ("code_url", code_url), ("licence", licence)):
        refuse_unsafe(value or "", f"method card: {key}")
    refuse_unsafe(description, "method card: description", allow="\n\t")
    return {
        "name": name.strip(),
        "description": description,
        "code_url": code_url,
        "licence": licence,
        "open_source": open_source,
    }


def set_method_card(platform: Platform, *, principal: Principal, submission_id: str, card) -> dict:
    """A team describes a hidden submission (public, in the log, on the board), until its round
    stops taking submissions: the card counts where a challenge pays only open-source entries."""
    card = check_method_card(card)
    with platform.transaction() as session:
        submission = _visible(session, principal, submission_id)
        if principal.role != "team":
            raise Forbidden("teams describe their own submissions")
        if submission.kind != "hidden":
            raise BadRequest("method cards are for submissions on the hidden set")
        _round_still_open(session, submission, what="method cards")
        submission.method_card = card
        audit.record(session, actor=principal, action="submission.method_card", target=f"submission:{submission.id}")
        publiclog.append(
            platform,
            session,
            kind="method_card",
            challenge=submission.challenge.slug,
            data={"submission": submission.id, "team": submission.team.name, "card": card},
        )
        return submission_view(submission)
