"""What a GPU node may do for the one job it runs, with that job's credential: read the job's
spec, fetch its image and its inputs (decrypted for this job, streamed, never stored here), and
send back the container's outcome and predictions, which are scored here, where the labels are.

A node credential is valid for one job only, until the first of: its result is in, the Slurm job
ended (the dispatcher revokes it), or its expiry (the job's time limit plus the margin, plus the
time Slurm may keep it waiting). It never opens anything of another job, and never a label or a
key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import CursorResult, update

from arena import evaluation
from arena.errors import BadRequest, NotFound, Unauthorized
from arena.models import Job, NodeCredential
from arena.runtime import Platform
from arena.services import assets, leases
from arena.services.images import image_path
from arena.streams import tar_chunks, tar_length
from arena.timeutil import utcnow
from sandbox import SESSION_REASONS, RunOutcome, SessionFailure

TOKEN_PREFIX = "arena_node_"
MAX_QUEUE_WAIT = timedelta(days=7)  # how long a credential may wait for Slurm to start its job
INVALID = (
    "this node credential is not valid: it is for another job, has expired, or its job "
    "has ended (a credential serves one run of one job, once)"
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session, *, job_id: str, lifetime: timedelta) -> str:
    """A new credential for `job_id`; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        NodeCredential(
            token_hash=_hash(token), job_id=job_id, created_at=now, expires_at=now + MAX_QUEUE_WAIT + lifetime
        )
    )
    return token


def revoke(session, *, job_id: str) -> None:
    session.execute(
        update(NodeCredential)
        .where(NodeCredential.job_id == job_id, NodeCredential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def ticket(platform: Platform, *, token: str | None, job_id: str) -> evaluation.Ticket:
    """The job this credential may serve, still running; Unauthorized otherwise."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("a node needs its job's credential: 'Authorization: Bearer arena_node_…'")
    with platform.sessions() as session:
        row = session.get(NodeCredential, _hash(token))
        job = session.get(Job, job_id)
        if (
            row is None
            or row.job_id != job_id
            or row.revoked_at is not None
            or row.expires_at <= utcnow()
            or job is None
            or job.status != "running"
        ):
            raise Unauthorized(INVALID)
        return evaluation.ticket_for(session, job, worker=job.worker)


def already_received(platform: Platform, *, token: str | None, job_id: str) -> bool:
    """Whether this credential's result was posted already (the post is then a repeat)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return False
    with platform.sessions() as session:
        row = session.get(NodeCredential, _hash(token))
        return row is not None and row.job_id == job_id and row.used_at is not None


def spend(platform: Platform, *, token: str, job_id: str) -> bool:
    """Use the credential for its one result, atomically: of posts racing with one credential,
    exactly one gets True and goes on to score and record; the others are repeats."""
    now = utcnow()
    with platform.transaction() as session:
        spent = cast(
            CursorResult,
            session.execute(  # an UPDATE's result
                update(NodeCredential)
                .where(
                    NodeCredential.token_hash == _hash(token),
                    NodeCredential.job_id == job_id,
                    NodeCredential.revoked_at.is_(None),
                    NodeCredential.used_at.is_(None),
                    NodeCredential.expires_at > now,
                )
                .values(used_at=now, revoked_at=now)
            ),
        )
        return spent.rowcount == 1


def repeat_answer(job_id: str) -> dict:
    """The answer to a repeated result post: the first one is being (or was) recorded; nothing more."""
    return {"job": job_id, "recorded": False, "repeat": True}


def spec(platform: Platform, ticket: evaluation.Ticket) -> dict:
    """What node-run needs: the image, the limits, the platform's output cap and the OCI runtime."""
    limits = ticket.limits
    return {
        "job": ticket.job_id,
        "kind": ticket.kind,
        "image_id": ticket.image_id,
        "max_output_bytes": platform.settings.max_predictions_bytes,
        "runtime": platform.settings.docker_runtime,
        "image_digest": ticket.image_digest,
        "challenge": ticket.challenge,
        "metric": ticket.metric,
        "limits": {
            "time_limit_seconds": limits.time_limit_s,
            "memory_mb": limits.memory_mb,
            "cpus": limits.cpus,
            "pids": limits.pids,
            "gpus": limits.gpus,
        },
        "protocol": ticket.protocol,
        "session": asdict(ticket.session_limits) if ticket.session_limits else None,
        "staged_bytes": evaluation.staged_bytes(platform, ticket),
        "folder_bytes": evaluation.folder_bytes(platform, ticket) + evaluation.capture_bytes(platform, ticket),
        "assets": _has_assets(platform, ticket),
        "environment": _environment(ticket),
    }


def _environment(ticket: evaluation.Ticket) -> dict | None:
    """An agent job's environment, as the node runs it: its image, tools, workdir and limits;
    not its score command (the node never scores: it sends each item's final state back)."""
    if ticket.protocol != "agent" or ticket.environment is None:
        return None
    config = ticket.environment
    return {
        "image_id": config.image_id,
        "image_digest": ticket.environment_digest,
        "tools": list(config.tools),
        "workdir": config.workdir,
        "limits": asdict(config.limits),
        "agent": asdict(config.agent),
    }


def _has_assets(platform: Platform, ticket: evaluation.Ticket) -> bool:
    if ticket.on_sample:
        return assets.sample_folder(platform, ticket.challenge).is_dir()
    return bool(ticket.hidden_set.n_assets)


def image_file(platform: Platform, ticket: evaluation.Ticket) -> Path:
    return image_path(platform, ticket.image_digest)


def input_lines(platform: Platform, ticket: evaluation.Ticket) -> Iterator[bytes]:
    """The job's inputs, decrypted segment by segment as they are sent: never written here. An
    agent item goes without its `score_files`: they are its labels, and never leave."""
    if ticket.protocol == "agent":
        for line in _lines(platform, ticket):
            yield _without_score_files(line)
        return
    if ticket.on_sample:
        with evaluation.sample_file(platform, ticket, "inputs.jsonl").open("rb") as handle:
            yield from handle
        return
    key = evaluation.open_key(platform, ticket.hidden_set)
    yield from platform.hidden_sets.iter_plaintext(set_id=ticket.hidden_set.id, role="inputs", data_key=key)


def _lines(platform: Platform, ticket: evaluation.Ticket) -> Iterator[bytes]:
    """The job's inputs, one whole line at a time."""
    if ticket.on_sample:
        with evaluation.sample_file(platform, ticket, "inputs.jsonl").open("rb") as handle:
            yield from handle
        return
    key = evaluation.open_key(platform, ticket.hidden_set)
    yield from platform.hidden_sets.iter_lines(set_id=ticket.hidden_set.id, role="inputs", data_key=key)


def _without_score_files(line: bytes) -> bytes:
    if not line.strip():
        return b""
    row = json.loads(line)
    if isinstance(row.get("input"), dict):
        row["input"].pop("score_files", None)
    return (json.dumps(row) + "\n").encode()


def score_only_assets(platform: Platform, ticket: evaluation.Ticket) -> set[str]:
    """The assets an agent job's items name only among their `score_files`: never sent to a node."""
    scored: set[str] = set()
    shown: set[str] = set()
    for line in _lines(platform, ticket):
        value = json.loads(line).get("input") if line.strip() else None
        if isinstance(value, dict):
            scored.update((value.get("score_files") or {}).values())
            shown.update((value.get("files") or {}).values())
    return scored - shown


def asset_stream(platform: Platform, ticket: evaluation.Ticket) -> tuple[int, Iterator[bytes]]:
    """The job's assets as one tar (length, chunks), decrypted as it is sent: never written here.
    An agent job's score files stay here."""
    if ticket.on_sample:
        entries = assets.sample_entries(platform, ticket.challenge)
    else:
        entries = assets.hidden_entries(platform, ticket.hidden_set, evaluation.open_key(platform, ticket.hidden_set))
    if ticket.protocol == "agent":
        withheld = score_only_assets(platform, ticket)
        entries = [entry for entry in entries if entry.name not in withheld]
    return tar_length(entries), tar_chunks(entries)


def environment_image_file(platform: Platform, ticket: evaluation.Ticket) -> Path:
    """An agent job's environment image tarball (as the organiser uploaded it)."""
    if ticket.protocol != "agent" or ticket.environment_digest is None:
        raise NotFound("this job has no environment image: it is not an agent challenge's")
    return image_path(platform, ticket.environment_digest)


VERDICTS = ("exited", "timeout", "out_of_memory")
MAX_DETAIL = 300


def outcome_from(form) -> tuple[RunOutcome, bool]:
    """The container's outcome as the node reports it (form fields), checked."""
    verdict = form.get("verdict")
    if verdict not in VERDICTS:
        raise BadRequest(f"verdict must be one of {', '.join(VERDICTS)}")
    try:
        exit_code = int(form["exit_code"]) if form.get("exit_code") not in (None, "") else None
        duration = float(form.get("duration_s", "0"))
    except ValueError:
        raise BadRequest("exit_code must be a whole number and duration_s a number") from None
    if not 0 <= duration < 10**7 or (exit_code is not None and not -(2**31) <= exit_code < 2**31):
        raise BadRequest("exit_code or duration_s is out of range")
    return RunOutcome(verdict, exit_code, duration), form.get("output_too_large") == "true"


def session_failure_from(form) -> SessionFailure | None:
    """An interactive model's protocol failure, as the node's driver reported it, checked."""
    reason, detail = form.get("session_reason") or None, form.get("session_detail") or ""
    if reason is None:
        return None
    if reason not in SESSION_REASONS or not 0 < len(detail) <= MAX_DETAIL:
        raise BadRequest(
            f"session_reason must be one of {', '.join(SESSION_REASONS)}, with a "
            f"session_detail of 1 to {MAX_DETAIL} characters"
        )
    return SessionFailure(reason, detail)


def agent_result_bytes(platform: Platform, ticket: evaluation.Ticket) -> int:
    """What an agent run's result carries beyond answers and log: its trajectory, its final states."""
    from sandbox import MAX_TRAJECTORY_BYTES

    return MAX_TRAJECTORY_BYTES + evaluation.capture_bytes(platform, ticket) + 2**20


def final_states_from(uploads: list) -> list[tuple[str, object]]:
    """The final states a node sent (files named item-N.tar.gz, each once), checked."""
    from sandbox import STATE_NAME

    names = [upload.filename or "" for upload in uploads]
    if len(set(names)) != len(names) or not all(STATE_NAME.fullmatch(name) for name in names):
        raise BadRequest("final_states must be files named item-N.tar.gz, each once")
    return list(zip(names, uploads, strict=True))


def finish(
    platform: Platform,
    ticket: evaluation.Ticket,
    *,
    outcome: RunOutcome,
    output_too_large: bool,
    log_tail: bytes,
    save_predictions,
    failure: SessionFailure | None = None,
    save_agent=None,
) -> dict:
    """Score and record what the node sent; the caller has spent the credential (`spend`)."""
    outcome = RunOutcome(outcome.verdict, outcome.exit_code, outcome.duration_s, log_tail)
    verdict = evaluation.finish_remote(
        platform,
        ticket,
        outcome=outcome,
        output_too_large=output_too_large,
        save_predictions=save_predictions,
        failure=failure,
        save_agent=save_agent,
    )
    recorded = evaluation.record(platform, ticket, verdict)
    with platform.transaction() as session:
        revoke(session, job_id=ticket.job_id)
    return {"job": ticket.job_id, "recorded": recorded}


# -- handing jobs to node executors (central Slurm, site agents) ------------------------------------
def hand_over(
    platform: Platform, *, job_id: str, executor: str, lifetime: timedelta, lease_s: float, site_id: int | None = None
) -> str:
    """A claimed job handed to a node executor: its one-time credential (returned), its executor
    noted, its lease set for the executor's polls."""
    with platform.transaction() as session:
        token = issue(session, job_id=job_id, lifetime=lifetime)
        job = session.get_one(Job, job_id)
        job.executor = executor
        if site_id is not None:
            job.site_id = site_id
        job.lease_expires_at = utcnow() + timedelta(seconds=lease_s)
    return token


def set_external(platform: Platform, *, job_id: str, external_id: str) -> None:
    """The executor's own id of the job (a Slurm job id)."""
    with platform.transaction() as session:
        session.get_one(Job, job_id).external_id = external_id


def give_back(platform: Platform, *, job_id: str, reason: str) -> bool:
    """The platform's failure: revoke the credential, re-queue the job (or fail it after the last
    attempt, never against the team's quota). False when its result came in meanwhile, or a sweep
    took it (a conditional update: not at the same time as its result, nor as a lapse's re-queue)."""
    with platform.transaction() as session:
        revoke(session, job_id=job_id)
        if not leases.end_if_running(session, job_id, outcome="infrastructure", error=reason):
            return False
        leases.requeue_or_fail(platform, session, session.get_one(Job, job_id))
    return True


def revoke_job(platform: Platform, *, job_id: str) -> None:
    with platform.transaction() as session:
        revoke(session, job_id=job_id)
