"""Submissions: created with their first job, read by their team or an organiser."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arena.domain.cards import check_method_card
from arena.errors import BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded, UserFacingError
from arena.models import Image, Job, Round, Submission
from arena.runtime import Platform
from arena.services import audit, publiclog
from arena.services.accounts import Principal
from arena.services.lookups import current_hidden_set, get_challenge
from arena.services.registrations import ensure_registered
from arena.services.rounds import intake_round, stops_at

# get_*, list_submissions, read_hidden_log, sample_predictions and team_log_reads: the API and
# the pages call them from here.
from arena.services.submission_logs import (  # noqa: F401
    get_log,
    read_hidden_log,
    sample_predictions,
    team_log_reads,
)
from arena.services.submission_views import get_submission, list_submissions, submission_view, visible  # noqa: F401
from arena.timeutil import iso, next_utc_midnight, utcnow

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
            _check_intake(
                session, challenge=challenge, team_id=team_id, kind=kind, image_digest=image_digest, actor=actor
            )
            submission = _new_submission(
                session, challenge=challenge, team_id=team_id, image_digest=image_digest, kind=kind, key=idempotency_key
            )
            audit.record(
                session,
                actor=actor,
                action="submission.receive",
                target=f"submission:{submission.id}",
                detail={"challenge": slug, "image_digest": image_digest, "kind": kind},
            )
            view = submission_view(submission)
            if kind == "hidden":  # debug runs on the public sample are not part of the record
                view["receipt"] = _log_receipt(platform, session, submission)
            return view
    except IntegrityError:
        # The same Idempotency-Key raced in twice: the first one stands.
        replay = find_replay(platform, team_id=team_id, key=idempotency_key)
        if replay is None:
            raise
        return replay


def _check_intake(session, *, challenge, team_id: int, kind: str, image_digest: str, actor: Principal | None) -> None:
    """Whether the challenge takes this submission now: registration, an agent challenge's
    environment, quota, pending cap and the image's platform."""
    ensure_registered(session, challenge=challenge, team=actor or Principal("team", team_id, ""))
    if challenge.protocol == "agent" and not (challenge.environment or {}).get("image_digest"):
        raise Conflict(
            f"{challenge.slug} is an agent challenge whose environment image its organiser has "
            "not uploaded yet; try again later"
        )
    _check_quota(session, challenge=challenge, team_id=team_id, kind=kind)
    _check_pending(session, challenge=challenge, team_id=team_id)
    _check_platform(session, challenge=challenge, image_digest=image_digest)


def _new_submission(session, *, challenge, team_id: int, image_digest: str, kind: str, key: str | None) -> Submission:
    """The submission, on the current hidden set and (hidden runs) the open round, with its first job."""
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
        idempotency_key=key,
        round_id=round_.id if round_ else None,
    )
    session.add(submission)
    session.flush()
    session.add(Job(id="job-" + secrets.token_hex(8), submission_id=submission.id))
    return submission


def _log_receipt(platform: Platform, session, submission: Submission) -> dict:
    """The signed receipt of a hidden submission, in the public log."""
    round_ = session.get(Round, submission.round_id) if submission.round_id else None
    return publiclog.append(
        platform,
        session,
        kind="submission.receipt",
        challenge=submission.challenge.slug,
        data={
            "submission": submission.id,
            "team": submission.team.name,
            "image_digest": submission.image_digest,
            "hidden_set": submission.hidden_set_id,
            "round": round_.number if round_ else None,
        },
    )


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


def _check_platform(session, *, challenge, image_digest: str) -> None:
    """The image is built for one of the platforms the challenge accepts (challenge.yaml)."""
    image = session.get(Image, image_digest)
    accepted = (challenge.hardware or {}).get("platforms") or ["linux/amd64"]
    if image is not None and f"linux/{image.architecture}" not in accepted:
        raise BadRequest(
            f"the image is built for linux/{image.architecture}; challenge {challenge.slug!r} accepts "
            f"{', '.join(accepted)} (docker build --platform {accepted[0]})"
        )


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
        submission = visible(session, principal, submission_id)
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


def set_method_card(platform: Platform, *, principal: Principal, submission_id: str, card) -> dict:
    """A team describes a hidden submission (public, in the log, on the board), until its round
    stops taking submissions: the card counts where a challenge pays only open-source entries."""
    card = check_method_card(card)
    with platform.transaction() as session:
        submission = visible(session, principal, submission_id)
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
