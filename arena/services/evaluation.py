"""The evaluation of one job: claim it, stage its inputs, run the container, score, record.

Plaintext inputs exist only in the job's memory-backed folder, wiped when the job ends; labels
exist only in this process's memory while scoring. Nothing the container prints is kept for
runs on hidden data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform as _platform_module
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

import evaluators
from arena.files import private_copy, private_folder
from arena.models import Challenge, HiddenSet, Image, Job, Result, Submission
from arena.platform import Platform
from arena.services import assets, environments, leases, publiclog, queue
from arena.services.images import image_path
from arena.services.slices import slice_scores
from arena.timeutil import utcnow
from hidden_sets import DataKey, HiddenSetError, seal, split_key
from sandbox import (
    SOCKET_NAME,
    EnvironmentConfig,
    JobFolder,
    Limits,
    RunOutcome,
    RunSpec,
    SandboxError,
    SessionFailure,
    SessionLimits,
    run_agent,
    run_interactive,
    score_final_states,
    sweep_job_folders,
)

log = logging.getLogger("arena.evaluation")
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Ticket:
    """What one job needs, read in one short transaction so nothing is held while it runs."""

    job_id: str
    submission_id: str
    attempt: int
    worker: str
    image_id: str
    image_digest: str
    challenge: str
    metric: str
    limits: Limits
    hidden_set: HiddenSet = field(repr=False)
    kind: str = "hidden"
    public_fraction: float = 0.3
    secondary_metrics: tuple[str, ...] = ()
    protocol: str = "batch"
    session_limits: SessionLimits | None = None  # the interactive protocol's limits
    scorer: dict | None = None  # an organiser's scoring container (arena/services/scoring.py)
    environment: EnvironmentConfig | None = None  # an agent challenge's environment
    environment_digest: str | None = None  # its image, as uploaded

    @property
    def on_sample(self) -> bool:
        return self.kind == "sample"

    @property
    def driven(self) -> bool:
        """Whether the platform drives the container through its socket (protocol v2, agents too)."""
        return driven(self.protocol)


def driven(protocol: str) -> bool:
    return protocol in ("interactive", "agent")


@dataclass(frozen=True)
class SplitScore:
    score: float
    low: float | None  # None when every bootstrap resample was degenerate
    high: float | None
    n_items: int
    item_scores: np.ndarray = field(repr=False)
    item_losses: np.ndarray = field(repr=False)  # what the Ladder compares: lower is better
    secondary: dict = field(default_factory=dict)  # {metric: {score, ci_low, ci_high}}; None if unscorable
    slices: dict = field(default_factory=dict)  # {slice: {score, ci_low, ci_high, n_items}} (services/slices.py)


@dataclass(frozen=True)
class Verdict:
    status: str  # "scored", "failed" (the model's fault) or "retry" (the platform's)
    score: float | None = None
    reason: str | None = None
    detail: str | None = None
    outcome: RunOutcome | None = None
    log: bytes | None = None
    splits: dict[str, SplitScore] = field(default_factory=dict)
    scorer_log: bytes | None = None  # sealed; for the organisers only
    trajectory: bytes | None = None  # an agent run's; sealed for hidden runs


def limits_from(given: dict) -> Limits:
    return Limits(
        time_limit_s=float(given["time_limit_seconds"]),
        memory_mb=int(given["memory_mb"]),
        cpus=float(given["cpus"]),
        pids=int(given["pids"]),
        gpus=int(given["gpus"]),
        folder_mb=int(given.get("folder_mb", 0)),
    )


def session_limits_from(given: dict) -> SessionLimits:
    return SessionLimits(
        startup_s=float(given["startup_time_limit_seconds"]),
        request_s=float(given["request_time_limit_seconds"]),
        max_answer_bytes=int(given["max_answer_bytes"]),
        concurrency=int(given["concurrency"]),
    )


# -- claiming ---------------------------------------------------------------------------------------


def _fits_anything(_limits: Limits) -> bool:
    return True


HOST_ARCHITECTURE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
    _platform_module.machine().lower(), _platform_module.machine().lower()
)


def runs_here(needs: dict) -> bool:
    """Whether this machine's engine (or the central Slurm cluster) can run a job: its image is
    built for this machine's architecture."""
    return needs.get("architecture", "amd64") == HOST_ARCHITECTURE


def claim_next_job(
    platform: Platform,
    *,
    worker: str,
    fits: Callable[[Limits], bool] = _fits_anything,
    accepts: Callable[[dict], bool] = runs_here,
) -> Ticket | None:
    """Take the next queued job, in the fair queue's order (arena/services/queue.py), that this
    executor `accepts` (its requirements: queue.needs) and whose limits `fits` the worker's free
    capacity, with a lease. None when none may start now."""
    try:
        with platform.transaction() as session:
            job_id = queue.pick(
                session,
                fits=lambda needs: accepts(needs) and fits(limits_from(needs)),
                team_cap=platform.settings.team_max_running,
            )
            return _take(platform, session, job_id, worker) if job_id else None
    except OperationalError:
        log.info("job claim collided with another writer; trying again later")
        return None


def _take(platform: Platform, session, job_id: str, worker: str) -> Ticket | None:
    job = session.get(Job, job_id)
    submission = session.get(Submission, job.submission_id)
    now = utcnow()
    lease = now + timedelta(seconds=platform.settings.lease_s)
    taken = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", worker=worker, started_at=now, lease_expires_at=lease)
    ).rowcount
    if taken != 1:
        return None
    submission.status, submission.updated_at = "running", now
    return ticket_for(session, job, worker=worker)


def ticket_for(session, job: Job, *, worker: str) -> Ticket:
    submission = session.get(Submission, job.submission_id)
    challenge = session.get(Challenge, submission.challenge_id)
    image = session.get(Image, submission.image_digest)
    hidden = session.get(HiddenSet, submission.hidden_set_id)
    staged = assets.folder_mb(assets_bytes=hidden.assets_bytes, kind=submission.kind)
    environment, digest = _environment(session, challenge)
    return Ticket(
        job_id=job.id,
        submission_id=submission.id,
        attempt=job.attempt,
        worker=worker,
        image_id=image.image_id,
        image_digest=image.digest,
        challenge=challenge.slug,
        metric=challenge.metric,
        limits=limits_from({**challenge.limits, "folder_mb": staged}),
        hidden_set=hidden,
        kind=submission.kind,
        public_fraction=challenge.public_fraction,
        secondary_metrics=tuple(challenge.secondary_metrics or ()),
        protocol=challenge.protocol,
        session_limits=session_limits_from(challenge.limits) if driven(challenge.protocol) else None,
        scorer=challenge.scorer,
        environment=environment,
        environment_digest=digest,
    )


def _environment(session, challenge: Challenge) -> tuple[EnvironmentConfig | None, str | None]:
    """An agent challenge's environment and the digest of its image (None where it has none)."""
    declared = challenge.environment or {}
    digest = declared.get("image_digest")
    if challenge.protocol != "agent" or digest is None:
        return None, None
    image = session.get(Image, digest)
    return environments.environment_config(declared, image.image_id), digest


# -- running ----------------------------------------------------------------------------------------
def sample_file(platform: Platform, ticket: Ticket, name: str) -> Path:
    return platform.sample_dir / ticket.challenge / name


def staged_bytes(platform: Platform, ticket: Ticket) -> int:
    """What a job's memory folder holds before the container starts: inputs and assets."""
    if ticket.on_sample:
        inputs = sample_file(platform, ticket, "inputs.jsonl").stat().st_size
        return inputs + assets.sample_bytes(platform, ticket.challenge)
    inputs = platform.hidden_sets.path(ticket.hidden_set.id, "inputs").stat().st_size
    return inputs + (ticket.hidden_set.assets_bytes or 0) + 4096 * (ticket.hidden_set.n_assets or 0)


def folder_bytes(platform: Platform, ticket: Ticket) -> int:
    """The size of a job's memory folder: what is staged, what the container may write (the output
    cap), and for an interactive run the driver's answers besides (as much again)."""
    from arena.services import scoring  # it imports this module

    room = platform.settings.max_predictions_bytes * (2 if ticket.driven else 1)
    if ticket.protocol == "agent":  # the trajectory, as large as the answers, and the items' staged files
        room += platform.settings.max_predictions_bytes + staged_bytes(platform, ticket)
    return staged_bytes(platform, ticket) + room + 2**20 + scoring.extra_bytes(platform, ticket)


def _make_folder(platform: Platform, ticket: Ticket) -> JobFolder:
    settings = platform.settings
    owner = getattr(platform.runner, "folder_owner", None)  # a rootless runner's user
    return JobFolder.create(
        root=settings.job_root,
        job_id=ticket.job_id,
        size_bytes=folder_bytes(platform, ticket),
        use_tmpfs=settings.job_tmpfs,
        owner=owner() if owner else None,
    )


def open_key(platform: Platform, hidden: HiddenSet) -> DataKey:
    return platform.hidden_sets.open_data_key(
        key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
    )


def items_path(folder: JobFolder, protocol: str) -> Path:
    """Where a job's inputs are staged: /input/inputs.jsonl for a batch container; for an
    interactive one, beside the folders it sees (the driver sends it items one at a time)."""
    return folder.path / "items.jsonl" if driven(protocol) else folder.input / "inputs.jsonl"


def environment_files(folder: JobFolder) -> Path:
    """Where an agent job's assets are decrypted: beside the folders its container sees; from here
    each item's declared files reach its environment, never the agent's container."""
    return folder.path / "environment-files"


def _stage_inputs(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey) -> None:
    hidden = ticket.hidden_set
    target = items_path(folder, ticket.protocol)
    if ticket.on_sample:
        shutil.copyfile(sample_file(platform, ticket, "inputs.jsonl"), target)
        with target.open("rb") as staged:
            n_items = sum(1 for line in staged if line.strip())
        assets.stage_sample(platform, ticket.challenge, _assets_dir(folder, ticket.protocol))
    else:
        platform.hidden_sets.decrypt_to(set_id=hidden.id, role="inputs", data_key=key, dest=target)
        assets.stage(platform, hidden, key, _assets_dir(folder, ticket.protocol))
        n_items = hidden.n_items
    write_task(
        folder.input, challenge=ticket.challenge, metric=ticket.metric, n_items=n_items, protocol=ticket.protocol
    )


def _assets_dir(folder: JobFolder, protocol: str) -> Path:
    if protocol != "agent":
        return folder.input
    environment_files(folder).mkdir(mode=0o700, exist_ok=True)
    return environment_files(folder)


def write_task(input_dir: Path, *, challenge: str, metric: str, n_items: int, protocol: str) -> None:
    """/input/task.json; protocol 1 (batch) or 2 (interactive, which gets no inputs.jsonl)."""
    task = {"protocol": 2 if driven(protocol) else 1, "challenge": challenge, "metric": metric, "n_items": n_items}
    (input_dir / "task.json").write_text(json.dumps(task))
    for name in ("inputs.jsonl", "task.json"):
        if (input_dir / name).exists():
            os.chmod(input_dir / name, 0o644)


def _too_large(outcome: RunOutcome, max_output: int, where: str = "/output") -> Verdict:
    return Verdict(
        "failed",
        reason="output_too_large",
        outcome=outcome,
        detail=f"the container wrote more than {max_output // 1024**2} MiB to {where}",
    )


def _out_of_memory(outcome: RunOutcome) -> Verdict:
    return Verdict(
        "failed",
        reason="out_of_memory",
        outcome=outcome,
        detail="the container used more memory than the challenge allows",
    )


def run_failure(outcome: RunOutcome, folder: JobFolder, max_output: int) -> Verdict | None:
    if folder.output_bytes() > max_output:
        return _too_large(outcome, max_output)
    if outcome.verdict == "timeout":
        return Verdict(
            "failed",
            reason="timeout",
            outcome=outcome,
            detail="the container ran past the challenge's time limit and was stopped",
        )
    if outcome.verdict == "out_of_memory":
        return _out_of_memory(outcome)
    if outcome.exit_code != 0:
        return Verdict(
            "failed", reason="crashed", outcome=outcome, detail=f"the container exited with code {outcome.exit_code}"
        )
    return None


# The interactive protocol's failures, as the team sees them (the detail never quotes the model).
SESSION_REASONS = {
    "not_ready": "not_ready",
    "timeout": "timeout",
    "invalid_answer": "invalid_output",
    "model_stopped": "crashed",
}


def session_verdict(
    failure: SessionFailure | None, outcome: RunOutcome, folder: JobFolder, max_output: int
) -> Verdict | None:
    """The failure of an interactive run, or None when every item was answered. The container's
    exit code does not count: the platform stops it when the items are done."""
    if folder.output_bytes() > max_output:
        return _too_large(outcome, max_output, "/output and /run/arena")
    if outcome.verdict == "out_of_memory":
        return _out_of_memory(outcome)
    if failure is not None:
        return Verdict("failed", reason=SESSION_REASONS[failure.reason], outcome=outcome, detail=failure.detail)
    return None


def prediction_lines(path: Path, max_bytes: int) -> Iterator[bytes]:
    """Open without following links (the container controls this folder) and cap the size."""
    # O_NONBLOCK: opening a FIFO the container left there must not hang the worker.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise evaluators.InvalidPredictions("predictions.jsonl is not a regular file")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise OverflowError
        yield from handle


def _label_lines(platform: Platform, ticket: Ticket, key: DataKey) -> Iterator[bytes]:
    if ticket.on_sample:
        with sample_file(platform, ticket, "labels.jsonl").open("rb") as handle:
            yield from handle
        return
    hidden = ticket.hidden_set
    yield from platform.hidden_sets.iter_lines(set_id=hidden.id, role="labels", data_key=key)


def answers_path(folder: JobFolder, protocol: str) -> Path:
    """Where the predictions are read: the container's /output, or the interactive driver's file
    (outside every folder the container sees)."""
    return folder.path / "answers.jsonl" if driven(protocol) else folder.output / "predictions.jsonl"


def _score(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey, outcome) -> Verdict:
    from arena.services import scoring  # it imports this module

    metric = scoring.challenge_metric(metric=ticket.metric, scorer=ticket.scorer)
    labels: dict[str, object] = {}
    item_slices: list[str | None] = []
    for raw in _label_lines(platform, ticket, key):
        if raw.strip():
            item = json.loads(raw)
            labels[item["id"]] = item["label"]
            item_slices.append(item.get("slice"))
    path = answers_path(folder, ticket.protocol)
    if not path.exists() and not path.is_symlink():
        return Verdict(
            "failed",
            reason="invalid_output",
            outcome=outcome,
            detail="the container wrote no /output/predictions.jsonl",
        )
    try:
        lines = prediction_lines(path, platform.settings.max_predictions_bytes)
        predictions = evaluators.parse_predictions(lines, ids=list(labels), metric=metric)
    except evaluators.InvalidPredictions as exc:
        return Verdict("failed", reason="invalid_output", detail=str(exc), outcome=outcome)
    except OverflowError:
        limit = platform.settings.max_predictions_bytes // 1024**2
        return Verdict(
            "failed", reason="output_too_large", outcome=outcome, detail=f"predictions.jsonl is larger than {limit} MiB"
        )
    except OSError:
        return Verdict(
            "failed",
            reason="invalid_output",
            outcome=outcome,
            detail="predictions.jsonl could not be opened as a regular file",
        )
    if ticket.scorer is not None:
        return scoring.score_with_container(
            platform, ticket, folder, key, outcome, ids=list(labels), item_slices=item_slices
        )
    try:
        splits = _split_scores(ticket, metric, list(labels), predictions, list(labels.values()), key, item_slices)
    except (evaluators.MetricError, ValueError, OverflowError, TypeError):
        return Verdict(
            "failed",
            reason="invalid_output",
            outcome=outcome,
            detail=f"the predictions could not be scored with {metric.name}",
        )
    shown = splits["sample" if ticket.on_sample else "public"]
    return Verdict("scored", score=shown.score, outcome=outcome, splits=splits)


def _one_split(ticket: Ticket, metric, name: str, predictions: list, gold: list, names: list) -> SplitScore:
    seed = int.from_bytes(hashlib.sha256(f"{ticket.submission_id}/{name}".encode()).digest()[:8], "big")
    found = evaluators.bootstrap_interval(metric, predictions, gold, seed=seed, resamples=BOOTSTRAP_RESAMPLES)
    low, high = (found.low, found.high) if np.isfinite([found.low, found.high]).all() else (None, None)
    by_slice = slice_scores(
        names,
        lambda picks: evaluators.bootstrap_interval(
            metric, [predictions[i] for i in picks], [gold[i] for i in picks], seed=seed, resamples=BOOTSTRAP_RESAMPLES
        ),
    )
    return SplitScore(
        found.score,
        low,
        high,
        len(gold),
        evaluators.item_scores(metric, predictions, gold),
        evaluators.item_losses(metric, predictions, gold),
        {name: secondary_score(name, predictions, gold, seed) for name in ticket.secondary_metrics},
        by_slice,
    )


def secondary_score(name: str, predictions: list, gold: list, seed: int) -> dict | None:
    """A secondary metric's score and interval; None when it cannot score these predictions (a
    model's answer fits the primary metric; a secondary one is shown, never a reason to fail)."""
    metric = evaluators.get_metric(name)
    if any(metric.validate_prediction(p) for p in predictions):
        return None
    try:
        found = evaluators.bootstrap_interval(metric, predictions, gold, seed=seed, resamples=BOOTSTRAP_RESAMPLES)
    except (evaluators.MetricError, ValueError, TypeError, OverflowError):
        return None
    finite = bool(np.isfinite([found.low, found.high]).all())
    return {"score": found.score, "ci_low": found.low if finite else None, "ci_high": found.high if finite else None}


def _split_scores(
    ticket: Ticket, metric, ids: list, predictions: list, gold: list, key: DataKey, names: list
) -> dict[str, SplitScore]:
    """Sample runs: one split. Hidden runs: the public split (the board) and the private one."""
    if ticket.on_sample:
        return {"sample": _one_split(ticket, metric, "sample", predictions, gold, names)}
    mask = evaluators.split_mask(
        ids, key=split_key(key.key, set_id=ticket.hidden_set.id), public_fraction=ticket.public_fraction
    )
    out = {}
    for name, chosen in (("public", mask), ("private", ~mask if len(ids) > 1 else mask)):
        picks = np.flatnonzero(chosen)
        out[name] = _one_split(
            ticket, metric, name, [predictions[i] for i in picks], [gold[i] for i in picks], [names[i] for i in picks]
        )
    return out


def run_spec(job_id: str, image_id: str, folder: JobFolder, limits: Limits, protocol: str) -> RunSpec:
    environment = {"ARENA_INPUT_DIR": "/input", "ARENA_OUTPUT_DIR": "/output"}
    interactive = driven(protocol)
    if interactive:
        environment["ARENA_MODEL_SOCKET"] = f"/run/arena/{SOCKET_NAME}"
    return RunSpec(
        job_id=job_id,
        image_id=image_id,
        input_dir=folder.input,
        output_dir=folder.output,
        limits=limits,
        environment=environment,
        run_dir=folder.run if interactive else None,
    )


def execute(platform: Platform, ticket: Ticket) -> Verdict:
    folder = None
    try:
        folder = _make_folder(platform, ticket)
        key = open_key(platform, ticket.hidden_set)
        _stage_inputs(platform, ticket, folder, key)
        tarball = image_path(platform, ticket.image_digest)
        platform.runner.ensure_image(image_id=ticket.image_id, tarball=tarball)
        spec = run_spec(ticket.job_id, ticket.image_id, folder, ticket.limits, ticket.protocol)
        max_output = platform.settings.max_predictions_bytes
        if ticket.driven:
            try:
                outcome, failure = _drive(platform, ticket, spec, folder)
            except OSError:
                # The answers could not be written: the job folder is full. When the container
                # filled it (its /output and /run/arena count), that is the model's doing.
                if folder.output_bytes() <= max_output:
                    raise
                outcome, failure = RunOutcome("exited", None, 0.0), None
            failed = session_verdict(failure, outcome, folder, max_output)
        else:
            outcome = platform.runner.run(spec)
            failed = run_failure(outcome, folder, max_output)
        verdict = failed or _score(platform, ticket, folder, key, outcome)
        return replace(
            verdict,
            log=_keep_output(platform, ticket, folder, key, outcome),
            trajectory=_keep_trajectory(ticket, folder, key),
        )
    except (SandboxError, HiddenSetError, OSError) as exc:
        log.error("job %s (attempt %d) hit an infrastructure failure: %s", ticket.job_id, ticket.attempt, exc)
        return Verdict("retry", reason="infrastructure", detail=str(exc)[:300])
    finally:
        if folder is not None:
            folder.wipe()


def _drive(platform: Platform, ticket: Ticket, spec: RunSpec, folder: JobFolder):
    """Run an interactive or agent container under the driver; (outcome, the model's failure)."""
    common: dict[str, Any] = dict(
        items=items_path(folder, ticket.protocol),
        answers=answers_path(folder, ticket.protocol),
        limits=ticket.session_limits,
        max_answers_bytes=platform.settings.max_predictions_bytes,
    )
    if ticket.protocol != "agent":
        return run_interactive(platform.runner, spec, **common)
    if ticket.environment is None or ticket.environment_digest is None:  # set together
        raise SandboxError("the challenge's environment image is not set")
    platform.runner.ensure_image(
        image_id=ticket.environment.image_id, tarball=image_path(platform, ticket.environment_digest)
    )
    return run_agent(
        platform.runner,
        spec,
        **common,
        config=ticket.environment,
        files_root=environment_files(folder),
        work_root=folder.path / "environments",
        trajectory=trajectory_path(folder),
        capture_root=None,
    )


def trajectory_path(folder: JobFolder) -> Path:
    return folder.path / "trajectory.jsonl"


def _keep_trajectory(ticket: Ticket, folder: JobFolder, key: DataKey) -> bytes | None:
    """An agent run's trajectory: sealed under the set's key for hidden runs, plain for sample runs."""
    path = trajectory_path(folder)
    if ticket.protocol != "agent" or not path.is_file():
        return None
    data = path.read_bytes()
    return data if ticket.on_sample else seal(key.key, purpose=f"trajectory/{ticket.job_id}", data=data)


def finish_remote(
    platform: Platform,
    ticket: Ticket,
    *,
    outcome: RunOutcome,
    output_too_large: bool,
    save_predictions: Callable[[Path], None],
    failure: SessionFailure | None = None,
    save_agent: Callable[[Path, Path], None] | None = None,
) -> Verdict:
    """Score what a GPU node sent back (its container's outcome and predictions, or an interactive
    model's answers and protocol failure) here, where the labels are: the same checks and scoring
    as a local run. The predictions go to a job folder in memory, wiped afterwards. An agent run
    sends its trajectory and each item's final state besides (`save_agent(trajectory, states)`):
    each state is scored here, where the score files are (score_final_states)."""
    folder = None
    try:
        from arena.services import scoring  # it imports this module

        folder = JobFolder.create(
            root=platform.settings.job_root,
            job_id=ticket.job_id,
            size_bytes=platform.settings.max_predictions_bytes
            + 2**20
            + scoring.extra_bytes(platform, ticket)
            + remote_agent_bytes(platform, ticket),
            use_tmpfs=platform.settings.job_tmpfs,
        )
        save_predictions(answers_path(folder, ticket.protocol))
        if ticket.protocol == "agent":
            (folder.path / "final-states").mkdir(mode=0o700)
            if save_agent is not None:
                save_agent(trajectory_path(folder), folder.path / "final-states")
        key = open_key(platform, ticket.hidden_set)
        max_output = platform.settings.max_predictions_bytes
        if output_too_large:
            verdict = _too_large(outcome, max_output, "/output and /run/arena" if ticket.driven else "/output")
        else:
            failed = (
                session_verdict(failure, outcome, folder, max_output)
                if ticket.driven
                else run_failure(outcome, folder, max_output)
            )
            if failed is None and ticket.protocol == "agent":
                _score_final_states(platform, ticket, folder, key)
            verdict = failed or _score(platform, ticket, folder, key, outcome)
        return replace(
            verdict,
            log=_keep_output(platform, ticket, folder, key, outcome),
            trajectory=_keep_trajectory(ticket, folder, key),
        )
    except (SandboxError, HiddenSetError, OSError) as exc:
        log.error("job %s: could not score what its node sent: %s", ticket.job_id, exc)
        return Verdict("retry", reason="infrastructure", detail=str(exc)[:300])
    finally:
        if folder is not None:
            folder.wipe()


def item_count(platform: Platform, ticket: Ticket) -> int:
    if not ticket.on_sample:
        return ticket.hidden_set.n_items
    with sample_file(platform, ticket, "inputs.jsonl").open("rb") as staged:
        return sum(1 for line in staged if line.strip())


def capture_bytes(platform: Platform, ticket: Ticket) -> int:
    """Room for an agent run's captured final states: each item's, at most its workdir_mb."""
    if ticket.protocol != "agent" or ticket.environment is None:
        return 0
    return item_count(platform, ticket) * (ticket.environment.agent.workdir_mb * 1024**2 + 4096)


def remote_agent_bytes(platform: Platform, ticket: Ticket) -> int:
    """What scoring a node's agent run takes here beyond its answers: the trajectory, the final
    states (twice: as sent, and staged for its environment), the items and their files decrypted."""
    if ticket.protocol != "agent":
        return 0
    return (
        platform.settings.max_predictions_bytes
        + 2 * capture_bytes(platform, ticket)
        + 2 * staged_bytes(platform, ticket)
    )


def _score_final_states(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey) -> None:
    """Each item's final state, as the node captured it, scored on this engine with the item's
    score files (which never left): the answers become the items' scores, as after a local run."""
    if ticket.environment is None or ticket.environment_digest is None:
        raise SandboxError("the challenge's environment image is not set")
    _stage_inputs(platform, ticket, folder, key)
    platform.runner.ensure_image(
        image_id=ticket.environment.image_id, tarball=image_path(platform, ticket.environment_digest)
    )
    try:
        score_final_states(
            platform.runner,
            job_id=ticket.job_id,
            config=ticket.environment,
            items=items_path(folder, ticket.protocol),
            answers=answers_path(folder, ticket.protocol),
            states=folder.path / "final-states",
            files_root=environment_files(folder),
            work_root=folder.path / "environments",
            trajectory=trajectory_path(folder),
        )
    except (ValueError, KeyError, TypeError) as exc:  # the node's answers file, not as node-run writes it
        raise SandboxError(f"the node's answers could not be read: {type(exc).__name__}") from None


SAMPLE_PREDICTIONS_CAP = 16 * 1024**2


def predictions_copy(platform: Platform, submission_id: str) -> Path:
    return platform.settings.blob_dir / "sample-runs" / f"{submission_id}.jsonl"


def _keep_output(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey, outcome: RunOutcome) -> bytes:
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


# -- recording --------------------------------------------------------------------------------------
def record(platform: Platform, ticket: Ticket, verdict: Verdict) -> bool:
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


def _record(platform: Platform, session, ticket: Ticket, verdict: Verdict) -> bool:
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
    from arena.services import scoring  # it imports this module

    if reason == scoring.SCORER_FAILED:
        leases.requeue_or_fail(
            platform,
            session,
            job,
            attempts=min(scoring.SCORER_ATTEMPTS, platform.settings.max_attempts),
            failure=(scoring.SCORER_FAILED, scoring.TEAM_DETAIL),
        )
    else:
        leases.requeue_or_fail(platform, session, job)


def _close_job(job: Job, verdict: Verdict) -> None:
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


def _record_results(platform: Platform, session, ticket: Ticket, submission, job, verdict: Verdict) -> None:
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


def live_job_ids(platform: Platform) -> set[str]:
    now = utcnow()
    with platform.sessions() as session:
        return set(session.scalars(select(Job.id).where(Job.status == "running", Job.lease_expires_at >= now)))


def sweep(platform: Platform) -> None:
    """Remove job folders and containers that belong to no live job (after a crash). Several
    workers may sweep at once: whatever another one removed first counts as removed."""
    leases.recover_expired_jobs(platform)
    root = platform.settings.job_root
    # List the folders first, then read which jobs are live: a job claimed in between is either
    # live in that read or has a folder made after the listing, so no live folder is removed.
    found = {p.name for p in root.iterdir()} if root.exists() else set()
    keep = live_job_ids(platform)
    sweep_job_folders(root, keep=keep, only=found)
    removed = platform.runner.sweep(keep=keep)
    from arena.services.uploads import sweep_stale

    sweep_stale(platform)
    if removed:
        log.info("removed %d container(s) left by an earlier run", removed)


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
        verdict = Verdict("retry", reason="infrastructure", detail="internal error")
    if record(platform, ticket, verdict):
        log.info("job %s: %s%s", ticket.job_id, verdict.status, f" ({verdict.reason})" if verdict.reason else "")
