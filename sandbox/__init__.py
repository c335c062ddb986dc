"""Run untrusted containers under the container protocol.

`Runner` is the interface; `DockerRunner` (the only code that imports `docker`) is the real one,
`FakeRunner` a seam for tests that need no engine. Nothing here knows about the web or a database.
"""

from collections.abc import Iterator
from pathlib import Path

from sandbox._agent import MAX_TRAJECTORY_BYTES, TOOL_SPECS, AgentLimits, EnvironmentConfig, parse_score
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
from sandbox._gpus import Gpu, GpuAllocator, detect_amd, parse_gpu_setting
from sandbox._interactive_driver import SessionFailure, SessionLimits, drive
from sandbox._interactive_items import check_agent_input, check_item_input
from sandbox._interactive_run import SOCKET_NAME, STATE_NAME, run_agent, run_interactive, score_final_states
from sandbox._jobfolder import (
    ASSET_LIMITS,
    MAX_ASSET_FILE_BYTES,
    MAX_ASSET_FILES,
    MAX_ASSETS_BYTES,
    AssetLimits,
    JobFolder,
    answers_path,
    assets_dir,
    count_items,
    driven,
    environment_files,
    environments_root,
    items_path,
    states_folder,
    sweep_job_folders,
    trajectory_path,
    write_task,
)
from sandbox._jobrun import (
    SESSION_REASONS,
    JobRun,
    JobRunResult,
    RunFailure,
    classify,
    limits_from,
    output_too_large,
    run_failure,
    run_job,
    run_spec,
    session_limits_from,
    session_verdict,
)
from sandbox._scoring import (
    SCORER_PROTOCOL,
    ScorerFolder,
    ScoresUnreadable,
    prepare_scorer_folder,
    publish_inputs,
    score_lines,
    scorer_spec,
)
from sandbox._tarball import ImageTarball, inspect_image_tarball

__all__ = [
    "ASSET_LIMITS",
    "MAX_ASSET_FILE_BYTES",
    "MAX_ASSET_FILES",
    "MAX_ASSETS_BYTES",
    "AssetLimits",
    "answers_path",
    "assets_dir",
    "count_items",
    "driven",
    "environment_files",
    "environments_root",
    "items_path",
    "states_folder",
    "trajectory_path",
    "write_task",
    "SESSION_REASONS",
    "JobRun",
    "JobRunResult",
    "RunFailure",
    "classify",
    "limits_from",
    "output_too_large",
    "run_failure",
    "run_job",
    "run_spec",
    "session_limits_from",
    "session_verdict",
    "AgentLimits",
    "CONTAINER_GID",
    "CONTAINER_UID",
    "EnvironmentConfig",
    "EnvironmentSpec",
    "ExecResult",
    "TOOL_SPECS",
    "MAX_TRAJECTORY_BYTES",
    "STATE_NAME",
    "TOOL_UID",
    "FakeRunner",
    "Gpu",
    "GpuAllocator",
    "ImageError",
    "ImageNotFound",
    "ImageTarball",
    "SCORER_PROTOCOL",
    "SOCKET_NAME",
    "ScorerFolder",
    "ScoresUnreadable",
    "prepare_scorer_folder",
    "publish_inputs",
    "score_lines",
    "scorer_spec",
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
    "detect_amd",
    "drive",
    "export_image",
    "inspect_image_tarball",
    "local_image_id",
    "make_runner",
    "parse_gpu_setting",
    "parse_score",
    "run_agent",
    "score_final_states",
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


def build_image(context: Path, *, tag: str, buildargs: dict[str, str] | None = None, nocache: bool = False) -> str:
    """Build an image from a folder, with no network; returns its id. `nocache`: build every
    step afresh (a cached step may come from a build for another architecture)."""
    from sandbox._docker import build_image as _build

    return _build(context, tag=tag, buildargs=buildargs, nocache=nocache)


def make_runner(name: str, **options: object) -> Runner:
    """Build the runner named in configuration: 'docker', 'podman' (rootless) or 'fake'."""
    if name == "docker":
        from sandbox._docker import DockerRunner

        return DockerRunner(**options)  # type: ignore[arg-type]  # its own keywords
    if name == "podman":
        from sandbox._podman import PodmanRunner

        options.pop("runtime", None)  # Podman's OCI runtime is the site's containers.conf choice
        return PodmanRunner(**options)  # type: ignore[arg-type]  # its own keywords
    if name == "fake":
        return FakeRunner()
    raise ValueError(f"unknown runner {name!r}; use 'docker', 'podman' or 'fake'")


def local_image_id(name: str) -> str:
    """The id of image `name` in the local engine (ImageNotFound, with what to do, if absent)."""
    from sandbox._docker import _get_image

    image_id: str = _get_image(name).id  # docker's Image (untyped): its id is a str
    return image_id
