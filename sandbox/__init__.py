"""Run untrusted containers under the container protocol.

`Runner` is the interface; `DockerRunner` (the only code that imports `docker`) is the real one,
`FakeRunner` a seam for tests that need no engine. Nothing here knows about the web or a database.
"""

from collections.abc import Iterator
from pathlib import Path

from sandbox._agent import TOOL_SPECS, AgentLimits, EnvironmentConfig, parse_score
from sandbox._base import (
    CONTAINER_GID,
    CONTAINER_UID,
    TOOL_UID,
    EnvironmentSpec,
    ExecResult,
    ImageError,
    ImageNotFound,
    Limits,
    Runner,
    RunOutcome,
    RunSpec,
    SandboxError,
)
from sandbox._fake import FakeRunner
from sandbox._interactive import SessionFailure, SessionLimits, check_agent_input, check_item_input, drive
from sandbox._gpus import GpuAllocator, parse_gpu_setting
from sandbox._jobfolder import JobFolder, sweep_job_folders
from sandbox._session import SOCKET_NAME, run_agent, run_interactive
from sandbox._tarball import ImageTarball, inspect_image_tarball

__all__ = [
    "AgentLimits",
    "CONTAINER_GID",
    "CONTAINER_UID",
    "EnvironmentConfig",
    "EnvironmentSpec",
    "ExecResult",
    "TOOL_SPECS",
    "TOOL_UID",
    "FakeRunner",
    "GpuAllocator",
    "ImageError",
    "ImageNotFound",
    "ImageTarball",
    "SOCKET_NAME",
    "JobFolder",
    "Limits",
    "RunOutcome",
    "RunSpec",
    "Runner",
    "SandboxError",
    "SessionFailure",
    "SessionLimits",
    "build_image",
    "check_agent_input",
    "check_item_input",
    "drive",
    "export_image",
    "inspect_image_tarball",
    "make_runner",
    "parse_gpu_setting",
    "parse_score",
    "run_agent",
    "run_interactive",
    "stream_image",
    "sweep_job_folders",
]


def export_image(name: str, dest: Path) -> tuple[str, str, int]:
    """`docker save` image `name` into `dest`; returns (image id, sha256 hex, size)."""
    from sandbox._docker import export_image as _export

    return _export(name, dest)


def stream_image(name: str) -> tuple[str, int, Iterator[bytes]]:
    """`docker save` image `name` as chunks; returns (image id, approximate size, chunks)."""
    from sandbox._docker import stream_image as _stream

    return _stream(name)


def build_image(context: Path, *, tag: str, buildargs: dict[str, str] | None = None) -> str:
    """Build an image from a folder, with no network; returns its id."""
    from sandbox._docker import build_image as _build

    return _build(context, tag=tag, buildargs=buildargs)


def make_runner(name: str, **options: object) -> Runner:
    """Build the runner named in configuration: 'docker' or 'fake'."""
    if name == "docker":
        from sandbox._docker import DockerRunner

        return DockerRunner(**options)  # type: ignore[arg-type]
    if name == "fake":
        return FakeRunner()
    raise ValueError(f"unknown runner {name!r}; use 'docker' or 'fake'")
