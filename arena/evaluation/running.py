"""Running one job on this machine's engine: stage it, run it (sandbox.run_job, the one run of a
job), score it, keep what may be kept, record it, under a lease kept alive meanwhile."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from arena.evaluation.claiming import claim_next_job
from arena.evaluation.job import JobVerdict, Ticket
from arena.evaluation.recording import record
from arena.evaluation.scoring import score
from arena.evaluation.staging import folder_bytes, make_folder, open_key, stage_inputs
from arena.files import private_copy, private_folder
from arena.runtime import Platform
from arena.services import leases
from arena.services.images import image_path
from hidden_sets import DataKey, HiddenSetError, seal
from sandbox import JobFolder, RunOutcome, SandboxError, answers_path, run_job, trajectory_path

log = logging.getLogger("arena.evaluation")
SAMPLE_PREDICTIONS_CAP = 16 * 1024**2


def run_one(platform: Platform, *, worker: str) -> bool:
    """Claim and evaluate one job; returns False when the queue was empty."""
    ticket = claim_next_job(platform, worker=worker)
    if ticket is None:
        return False
    run_ticket(platform, ticket)
    return True


def run_ticket(platform: Platform, ticket: Ticket) -> None:
    log.info("job %s: running submission %s (attempt %d)", ticket.job_id, ticket.submission_id, ticket.attempt)
    try:
        with leases.held(
            platform, job_id=ticket.job_id, worker=ticket.worker, on_lost=lambda: platform.runner.stop(ticket.job_id)
        ):
            verdict = execute(platform, ticket)
    except Exception:
        log.exception("job %s: unexpected error; it will be retried", ticket.job_id)
        verdict = JobVerdict("retry", reason="infrastructure", detail="internal error")
    if record(platform, ticket, verdict):
        log.info("job %s: %s%s", ticket.job_id, verdict.status, f" ({verdict.reason})" if verdict.reason else "")


def execute(platform: Platform, ticket: Ticket) -> JobVerdict:
    """Evaluate a claimed job here: its verdict (a retry when the platform failed)."""
    folder = None
    try:
        folder = make_folder(platform, ticket, folder_bytes(platform, ticket))
        key = open_key(platform, ticket.hidden_set)
        stage_inputs(platform, ticket, folder, key)
        ensure_images(platform, ticket)
        ran = run_job(platform.runner, ticket.job_run(platform.settings.max_predictions_bytes), folder)
        if ran.failure is not None:
            verdict = JobVerdict.failed(ran.failure, ran.outcome)
        else:
            verdict = score(platform, ticket, folder, key, ran.outcome)
        return kept(platform, ticket, folder, key, verdict, ran.outcome)
    except (SandboxError, HiddenSetError, OSError) as exc:
        log.error("job %s (attempt %d) hit an infrastructure failure: %s", ticket.job_id, ticket.attempt, exc)
        return JobVerdict("retry", reason="infrastructure", detail=str(exc)[:300])
    finally:
        if folder is not None:
            folder.wipe()


def ensure_images(platform: Platform, ticket: Ticket) -> None:
    """The team's image in the engine, and an agent challenge's environment image."""
    platform.runner.ensure_image(image_id=ticket.image_id, tarball=image_path(platform, ticket.image_digest))
    if ticket.protocol != "agent":
        return
    if ticket.environment is None or ticket.environment_digest is None:  # set together
        raise SandboxError("the challenge's environment image is not set")
    platform.runner.ensure_image(
        image_id=ticket.environment.image_id, tarball=image_path(platform, ticket.environment_digest)
    )


def kept(
    platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey, verdict: JobVerdict, outcome: RunOutcome
) -> JobVerdict:
    """The verdict with what is kept of the run: its log and (agents) its trajectory."""
    return replace(
        verdict,
        log=keep_output(platform, ticket, folder, key, outcome),
        trajectory=keep_trajectory(ticket, folder, key),
    )


def predictions_copy(platform: Platform, submission_id: str) -> Path:
    return platform.settings.blob_dir / "sample-runs" / f"{submission_id}.jsonl"


def keep_output(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey, outcome: RunOutcome) -> bytes:
    """What the container printed: sealed for organisers on hidden data; for sample runs, plain,
    with a copy of the predictions, for the team to debug with."""
    if not ticket.on_sample:
        return seal(key.key, purpose=f"log/{ticket.job_id}", data=outcome.log_tail)
    source = answers_path(folder, ticket.protocol)
    if source.is_file() and not source.is_symlink() and source.stat().st_size <= SAMPLE_PREDICTIONS_CAP:
        target = predictions_copy(platform, ticket.submission_id)
        private_folder(target.parent)
        private_copy(source, target)
    return outcome.log_tail


def keep_trajectory(ticket: Ticket, folder: JobFolder, key: DataKey) -> bytes | None:
    """An agent run's trajectory: sealed under the set's key for hidden runs, plain for sample runs."""
    path = trajectory_path(folder)
    if ticket.protocol != "agent" or not path.is_file():
        return None
    data = path.read_bytes()
    return data if ticket.on_sample else seal(key.key, purpose=f"trajectory/{ticket.job_id}", data=data)
