"""The runner interface and the values it passes around."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

# Every container runs as this uid:gid, whatever its image says.
CONTAINER_UID = 65532
CONTAINER_GID = 65532
# An agent's tools run in its environment as this uid (the environment's own processes and its
# score command run as CONTAINER_UID), so that the agent's processes can be killed, and only they.
TOOL_UID = 65533


class SandboxError(Exception):
    """The platform could not run the container (an infrastructure failure, not the model's)."""


class ImageError(Exception):
    """An image tarball is unusable; the message is safe to show to the team."""


class ImageNotFound(ImageError):
    """The named image is not in the local engine."""


@dataclass(frozen=True)
class Limits:
    time_limit_s: float = 300.0
    memory_mb: int = 1024
    cpus: float = 1.0
    pids: int = 128
    gpus: int = 0
    tmp_mb: int = 256
    log_tail_bytes: int = 64 * 1024
    max_file_bytes: int = 1024**3  # ulimit fsize: no single file the container writes may be larger
    # Memory the job's folder takes beyond the container's own limit (its staged binary assets):
    # counted in a worker's capacity and a Slurm job's --mem, never given to the container.
    folder_mb: int = 0


@dataclass(frozen=True)
class RunSpec:
    job_id: str
    image_id: str
    input_dir: Path
    output_dir: Path
    limits: Limits
    environment: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None  # mounted read-write at /run/arena (the interactive protocol's socket)


@dataclass(frozen=True)
class EnvironmentSpec:
    """One item's environment: the organiser's image, started as a server (it sleeps), in the same
    sandbox as a team's image. `stage_dir` (the item's visible files) is mounted read-only at
    /arena/stage and `hidden_dir` (empty until scoring) read-only at /arena/hidden; `workdir` is a
    tmpfs of `workdir_mb`, owned by TOOL_UID."""

    job_id: str
    name: str  # unique per item: the container's name suffix
    image_id: str
    stage_dir: Path
    hidden_dir: Path
    workdir: str
    workdir_mb: int
    limits: Limits


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None  # None when the command was killed at its time limit
    output: bytes  # stdout and stderr interleaved, at most the cap
    truncated: bool
    timed_out: bool
    duration_s: float


Verdict = Literal["exited", "timeout", "out_of_memory"]


@dataclass(frozen=True)
class RunOutcome:
    verdict: Verdict
    exit_code: int | None
    duration_s: float
    log_tail: bytes = b""


class Runner(Protocol):
    def has_image(self, image_id: str) -> bool:
        """Whether `image_id` is loaded already (so its tarball need not be fetched)."""

    def ensure_image(self, *, image_id: str, tarball: Path) -> None:
        """Make `image_id` available to run, loading it from `tarball` if needed."""

    def run(self, spec: RunSpec, during: Callable[[Callable[[], bool]], None] | None = None) -> RunOutcome:
        """Run one container to completion or deadline, then remove it. With `during`, the
        container is a server: once it started, `during(alive)` runs (alive() says whether the
        container still runs), then the container is stopped; the caller keeps the deadline."""

    def stop(self, job_id: str) -> None:
        """Stop the container of `job_id` now, if one runs (its job was taken from this worker);
        `run` then returns as for a container that exited. Nothing happens when none runs."""

    def start_environment(self, spec: EnvironmentSpec) -> str:
        """Start an item's environment (see EnvironmentSpec); returns its handle."""

    def exec_in(
        self, handle: str, argv: list[str], *, user: int, workdir: str, time_limit_s: float, max_output_bytes: int
    ) -> ExecResult:
        """Run `argv` in a started environment as `user`, killed at `time_limit_s` (the process
        group it starts), its output capped at `max_output_bytes`."""

    def stop_environment(self, handle: str) -> None:
        """Remove an environment and everything in it; nothing happens when it is gone."""

    def sweep(self, *, keep: set[str]) -> int:
        """Remove containers of jobs not in `keep` (left by a crash); returns how many. A
        container that is already gone, or being removed by someone else, counts as removed."""
