"""The run of one job's container, written once: used by the central worker and by `arena node-run`
on a GPU node alike.

`run_job` runs a laid-out job folder's container (a batch run, an interactive one driven through
its socket, or an agent with one environment per item); `classify` turns what happened into the
model's failure, if any, with a reason and a detail safe to show the team (never the container's
bytes). Scoring is not here: it needs the labels, which never leave the central zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox._agent import EnvironmentConfig
from sandbox._base import Limits, Runner, RunOutcome, RunSpec, SandboxError
from sandbox._interactive_driver import SessionFailure, SessionLimits
from sandbox._interactive_run import SOCKET_NAME, run_agent, run_interactive
from sandbox._jobfolder import (
    JobFolder,
    answers_path,
    driven,
    environment_files,
    environments_root,
    items_path,
    states_folder,
    trajectory_path,
)

# The interactive protocol's failures, as the team sees them (the detail never quotes the model).
SESSION_REASONS = {
    "not_ready": "not_ready",
    "timeout": "timeout",
    "invalid_answer": "invalid_output",
    "model_stopped": "crashed",
}


def limits_from(given: dict[str, Any]) -> Limits:
    """A challenge's `limits` (challenge.yaml's names) as the sandbox's Limits."""
    return Limits(
        time_limit_s=float(given["time_limit_seconds"]),
        memory_mb=int(given["memory_mb"]),
        cpus=float(given["cpus"]),
        pids=int(given["pids"]),
        gpus=int(given["gpus"]),
        folder_mb=int(given.get("folder_mb", 0)),
    )


def session_limits_from(given: dict[str, Any]) -> SessionLimits:
    """A driven challenge's `limits` (challenge.yaml's names) as the driver's SessionLimits."""
    return SessionLimits(
        startup_s=float(given["startup_time_limit_seconds"]),
        request_s=float(given["request_time_limit_seconds"]),
        max_answer_bytes=int(given["max_answer_bytes"]),
        concurrency=int(given["concurrency"]),
    )


def run_spec(job_id: str, image_id: str, folder: JobFolder, limits: Limits, protocol: str) -> RunSpec:
    """The container's run: /input read-only, /output writable, and (driven) /run/arena's socket."""
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


@dataclass(frozen=True)
class JobRun:
    """What running one job's container needs, wherever it runs. The images are in the runner."""

    job_id: str
    image_id: str
    protocol: str  # "batch", "interactive" or "agent"
    limits: Limits
    max_output_bytes: int  # the cap on what the container writes (and on the driver's answers)
    session_limits: SessionLimits | None = None  # driven runs
    environment: EnvironmentConfig | None = None  # agent runs
    capture_states: bool = False  # a node: capture each item's final state, score none here


@dataclass(frozen=True)
class RunFailure:
    """The model's failure: `reason` as the team sees it, `detail` safe to show it."""

    reason: str
    detail: str


@dataclass(frozen=True)
class JobRunResult:
    outcome: RunOutcome
    session_failure: SessionFailure | None  # the driver's account of a protocol failure
    failure: RunFailure | None  # the model's failure, classified; None when it ran through


def run_job(runner: Runner, job: JobRun, folder: JobFolder) -> JobRunResult:
    """Run the container of a staged job folder and classify the outcome."""
    spec = run_spec(job.job_id, job.image_id, folder, job.limits, job.protocol)
    if not driven(job.protocol):
        outcome = runner.run(spec)
        return JobRunResult(outcome, None, classify(job.protocol, outcome, None, folder, job.max_output_bytes))
    try:
        outcome, session_failure = _drive(runner, job, spec, folder)
    except OSError:
        # The answers could not be written: the job folder is full. When the container filled it
        # (its /output and /run/arena count), that is the model's doing.
        if folder.output_bytes() <= job.max_output_bytes:
            raise
        outcome, session_failure = RunOutcome("exited", None, 0.0), None
    failure = classify(job.protocol, outcome, session_failure, folder, job.max_output_bytes)
    return JobRunResult(outcome, session_failure, failure)


def _drive(runner: Runner, job: JobRun, spec: RunSpec, folder: JobFolder) -> tuple[RunOutcome, SessionFailure | None]:
    """Run an interactive or agent container under the driver; (outcome, the model's failure)."""
    if job.session_limits is None:
        raise SandboxError("a driven run needs its session limits")
    items, answers = items_path(folder, job.protocol), answers_path(folder, job.protocol)
    common: dict[str, Any] = dict(
        items=items, answers=answers, limits=job.session_limits, max_answers_bytes=job.max_output_bytes
    )
    if job.protocol != "agent":
        return run_interactive(runner, spec, **common)
    if job.environment is None:
        raise SandboxError("the challenge's environment image is not set")
    if job.capture_states:
        states_folder(folder).mkdir(mode=0o700, exist_ok=True)
    return run_agent(
        runner,
        spec,
        **common,
        config=job.environment,
        files_root=environment_files(folder),
        work_root=environments_root(folder),
        trajectory=trajectory_path(folder),
        capture_root=states_folder(folder) if job.capture_states else None,
    )


def too_large(max_output: int, where: str = "/output") -> RunFailure:
    return RunFailure("output_too_large", f"the container wrote more than {max_output // 1024**2} MiB to {where}")


OUT_OF_MEMORY = RunFailure("out_of_memory", "the container used more memory than the challenge allows")
TIMED_OUT = RunFailure("timeout", "the container ran past the challenge's time limit and was stopped")


def output_too_large(protocol: str, max_output: int) -> RunFailure:
    """What the container wrote past the cap, where it wrote it."""
    return too_large(max_output, "/output and /run/arena" if driven(protocol) else "/output")


def classify(
    protocol: str, outcome: RunOutcome, failure: SessionFailure | None, folder: JobFolder, max_output: int
) -> RunFailure | None:
    """The model's failure, or None when it ran through (a driven run: every item answered)."""
    if driven(protocol):
        return session_verdict(failure, outcome, folder, max_output)
    return run_failure(outcome, folder, max_output)


def run_failure(outcome: RunOutcome, folder: JobFolder, max_output: int) -> RunFailure | None:
    """A batch run's failure: too much output, past the time limit, out of memory, a crash."""
    if folder.output_bytes() > max_output:
        return too_large(max_output)
    if outcome.verdict == "timeout":
        return TIMED_OUT
    if outcome.verdict == "out_of_memory":
        return OUT_OF_MEMORY
    if outcome.exit_code != 0:
        return RunFailure("crashed", f"the container exited with code {outcome.exit_code}")
    return None


def session_verdict(
    failure: SessionFailure | None, outcome: RunOutcome, folder: JobFolder, max_output: int
) -> RunFailure | None:
    """A driven run's failure. The container's exit code does not count: the platform stops it
    when the items are done."""
    if folder.output_bytes() > max_output:
        return too_large(max_output, "/output and /run/arena")
    if outcome.verdict == "out_of_memory":
        return OUT_OF_MEMORY
    if failure is not None:
        return RunFailure(SESSION_REASONS[failure.reason], failure.detail)
    return None
