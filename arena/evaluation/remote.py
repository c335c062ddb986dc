"""Finishing a job a GPU node ran (central Slurm or a site): what the node sent back is checked
and scored here, where the labels are, exactly as after a local run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from arena.evaluation.job import JobVerdict, Ticket
from arena.evaluation.running import kept
from arena.evaluation.scoring import score
from arena.evaluation.staging import make_folder, open_key, remote_agent_bytes, scorer_bytes, stage_inputs
from arena.runtime import Platform
from arena.services.images import image_path
from hidden_sets import DataKey, HiddenSetError
from sandbox import (
    JobFolder,
    RunOutcome,
    SandboxError,
    SessionFailure,
    answers_path,
    classify,
    environment_files,
    environments_root,
    items_path,
    output_too_large,
    score_final_states,
    states_folder,
    trajectory_path,
)

log = logging.getLogger("arena.evaluation")


def finish_remote(
    platform: Platform,
    ticket: Ticket,
    *,
    outcome: RunOutcome,
    output_too_large: bool,
    save_predictions: Callable[[Path], None],
    failure: SessionFailure | None = None,
    save_agent: Callable[[Path, Path], None] | None = None,
) -> JobVerdict:
    """Score what a GPU node sent back (its container's outcome and predictions, or a driven
    model's answers and protocol failure) here, where the labels are: the same checks and scoring
    as a local run. The predictions go to a job folder in memory, wiped afterwards. An agent run
    sends its trajectory and each item's final state besides (`save_agent(trajectory, states)`):
    each state is scored here, where the score files are."""
    folder = None
    try:
        folder = make_folder(platform, ticket, remote_folder_bytes(platform, ticket), for_runner=False)
        save_predictions(answers_path(folder, ticket.protocol))
        if ticket.protocol == "agent":
            states_folder(folder).mkdir(mode=0o700)
            if save_agent is not None:
                save_agent(trajectory_path(folder), states_folder(folder))
        key = open_key(platform, ticket.hidden_set)
        verdict = _judge(platform, ticket, folder, key, outcome, too_large=output_too_large, failure=failure)
        return kept(platform, ticket, folder, key, verdict, outcome)
    except (SandboxError, HiddenSetError, OSError) as exc:
        log.error("job %s: could not score what its node sent: %s", ticket.job_id, exc)
        return JobVerdict("retry", reason="infrastructure", detail=str(exc)[:300])
    finally:
        if folder is not None:
            folder.wipe()


def remote_folder_bytes(platform: Platform, ticket: Ticket) -> int:
    """The memory folder that scores a node's run: its answers, a scorer's folders, an agent's."""
    settings = platform.settings
    return (
        settings.max_predictions_bytes + 2**20 + scorer_bytes(platform, ticket) + remote_agent_bytes(platform, ticket)
    )


def _judge(
    platform: Platform,
    ticket: Ticket,
    folder: JobFolder,
    key: DataKey,
    outcome: RunOutcome,
    *,
    too_large: bool,
    failure: SessionFailure | None,
) -> JobVerdict:
    max_output = platform.settings.max_predictions_bytes
    if too_large:
        return JobVerdict.failed(output_too_large(ticket.protocol, max_output), outcome)
    failed = classify(ticket.protocol, outcome, failure, folder, max_output)
    if failed is not None:
        return JobVerdict.failed(failed, outcome)
    if ticket.protocol == "agent":
        _score_final_states(platform, ticket, folder, key)
    return score(platform, ticket, folder, key, outcome)


def _score_final_states(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey) -> None:
    """Each item's final state, as the node captured it, scored on this engine with the item's
    score files (which never left): the answers become the items' scores, as after a local run."""
    if ticket.environment is None or ticket.environment_digest is None:
        raise SandboxError("the challenge's environment image is not set")
    stage_inputs(platform, ticket, folder, key)
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
            states=states_folder(folder),
            files_root=environment_files(folder),
            work_root=environments_root(folder),
            trajectory=trajectory_path(folder),
        )
    except (ValueError, KeyError, TypeError) as exc:  # the node's answers file, not as node-run writes it
        raise SandboxError(f"the node's answers could not be read: {type(exc).__name__}") from None
