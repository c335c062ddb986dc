"""The scoring container's side of a job (container protocol v3).

After a team's run, the organiser's scorer runs in the same sandbox (no network, read-only root,
unprivileged, the challenge's limits) with its own folders inside the job's memory folder:
/input holds labels.jsonl, predictions.jsonl, inputs.jsonl and assets/; it writes
/output/scores.jsonl. Nothing here knows what the scores mean.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox._base import CONTAINER_GID, CONTAINER_UID, Limits, RunSpec

SCORER_PROTOCOL = 3
SCORES_NAME = "scores.jsonl"


class ScoresUnreadable(Exception):
    """/output/scores.jsonl is missing, not a regular file, or too large (message for organisers)."""


@dataclass(frozen=True)
class ScorerFolder:
    path: Path

    @property
    def input(self) -> Path:
        return self.path / "input"

    @property
    def output(self) -> Path:
        return self.path / "output"


def prepare_scorer_folder(job_path: Path) -> ScorerFolder:
    """scorer/input (read-only to the container) and scorer/output (its only writable folder),
    inside the job's memory folder, so they are wiped with it."""
    folder = ScorerFolder(job_path / "scorer")
    folder.path.mkdir(mode=0o711)
    os.chmod(folder.path, 0o711)
    folder.input.mkdir(mode=0o755)
    os.chmod(folder.input, 0o755)
    folder.output.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(folder.output, CONTAINER_UID, CONTAINER_GID)
    else:
        os.chmod(folder.output, 0o777)  # development without root: the container's uid differs
    return folder


def publish_inputs(folder: ScorerFolder) -> None:
    """Make what was staged in the scorer's /input readable to the container's unprivileged user."""
    for parent, dirs, files in os.walk(folder.input):
        for name in dirs:
            os.chmod(os.path.join(parent, name), 0o755)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o644)


def scorer_spec(*, job_id: str, image_id: str, folder: ScorerFolder, limits: Limits) -> RunSpec:
    environment = {"ARENA_INPUT_DIR": "/input", "ARENA_OUTPUT_DIR": "/output", "ARENA_PROTOCOL": str(SCORER_PROTOCOL)}
    return RunSpec(
        job_id=job_id,
        image_id=image_id,
        input_dir=folder.input,
        output_dir=folder.output,
        limits=limits,
        environment=environment,
    )


def output_bytes(folder: ScorerFolder) -> int:
    total = 0
    for parent, _dirs, files in os.walk(folder.output):
        for name in files:
            total += os.lstat(os.path.join(parent, name)).st_size
    return total


def score_lines(folder: ScorerFolder, max_bytes: int) -> Iterator[bytes]:
    """The lines of /output/scores.jsonl, opened without following links and capped in size."""
    path = folder.output / SCORES_NAME
    try:
        # O_NONBLOCK: a FIFO the scorer left there must not hang the worker.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ScoresUnreadable("the scorer wrote no /output/scores.jsonl") from None
    except OSError:
        raise ScoresUnreadable("/output/scores.jsonl could not be opened as a regular file") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ScoresUnreadable("/output/scores.jsonl is not a regular file")
    os.set_blocking(fd, True)
    if info.st_size > max_bytes:
        os.close(fd)
        raise ScoresUnreadable(f"/output/scores.jsonl is larger than {max_bytes // 1024**2} MiB")
    with os.fdopen(fd, "rb") as handle:
        yield from handle
