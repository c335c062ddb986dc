"""Staging a job: its memory folder, sized for what it will hold, and its inputs and assets
decrypted into it (or a sample's copied), laid out as the sandbox's job folder says."""

from __future__ import annotations

import shutil
from pathlib import Path

from arena.evaluation.job import Ticket
from arena.models import HiddenSet
from arena.runtime import Platform
from arena.services import assets
from hidden_sets import DataKey
from sandbox import JobFolder, assets_dir, count_items, items_path, write_task


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
    room = platform.settings.max_predictions_bytes * (2 if ticket.driven else 1)
    if ticket.protocol == "agent":  # the trajectory, as large as the answers, and the items' staged files
        room += platform.settings.max_predictions_bytes + staged_bytes(platform, ticket)
    return staged_bytes(platform, ticket) + room + 2**20 + scorer_bytes(platform, ticket)


def scorer_bytes(platform: Platform, ticket: Ticket) -> int:
    """Room a scoring container's folders take in the job's memory folder: inputs and assets
    again, labels, a copy of the predictions, and its scores (capped like predictions)."""
    if ticket.scorer is None:
        return 0
    labels = platform.hidden_sets.path(ticket.hidden_set.id, "labels").stat().st_size
    return staged_bytes(platform, ticket) + labels + 2 * platform.settings.max_predictions_bytes


def make_folder(platform: Platform, ticket: Ticket, size_bytes: int, *, for_runner: bool = True) -> JobFolder:
    """The job's memory folder; `for_runner`: owned by a rootless runner's user, if any."""
    settings = platform.settings
    owner = getattr(platform.runner, "folder_owner", None) if for_runner else None
    return JobFolder.create(
        root=settings.job_root,
        job_id=ticket.job_id,
        size_bytes=size_bytes,
        use_tmpfs=settings.job_tmpfs,
        owner=owner() if owner else None,
    )


def open_key(platform: Platform, hidden: HiddenSet) -> DataKey:
    return platform.hidden_sets.open_data_key(
        key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
    )


def stage_inputs(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey) -> None:
    """The job's inputs and assets, decrypted (or a sample's copied) where its protocol reads
    them, and /input/task.json."""
    hidden = ticket.hidden_set
    target = items_path(folder, ticket.protocol)
    if ticket.on_sample:
        shutil.copyfile(sample_file(platform, ticket, "inputs.jsonl"), target)
        n_items = count_items(target)
        assets.stage_sample(platform, ticket.challenge, assets_dir(folder, ticket.protocol))
    else:
        platform.hidden_sets.decrypt_to(set_id=hidden.id, role="inputs", data_key=key, dest=target)
        assets.stage(platform, hidden, key, assets_dir(folder, ticket.protocol))
        n_items = hidden.n_items
    write_task(
        folder.input, challenge=ticket.challenge, metric=ticket.metric, n_items=n_items, protocol=ticket.protocol
    )


def item_count(platform: Platform, ticket: Ticket) -> int:
    if not ticket.on_sample:
        return ticket.hidden_set.n_items
    return count_items(sample_file(platform, ticket, "inputs.jsonl"))


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
