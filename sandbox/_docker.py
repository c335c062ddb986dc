"""The one module that talks to a Docker engine.

Containers are created then started (never `run`, which may pull), images are referred to by id,
and nothing is ever pulled. The client is made on first use, never at import time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import requests
from docker.errors import APIError, DockerException
from docker.errors import ImageNotFound as DockerImageNotFound
from docker.types import DeviceRequest, LogConfig, Mount, Ulimit

from sandbox._base import (
    CONTAINER_GID,
    CONTAINER_UID,
    TOOL_UID,
    EnvironmentSpec,
    ExecResult,
    ImageNotFound,
    Limits,
    RunOutcome,
    RunSpec,
    SandboxError,
)
from sandbox._gpus import GpuAllocator

if TYPE_CHECKING:  # docker ships no type information: these are Any to mypy, named for the reader
    from docker.models.containers import Container
    from docker.models.images import Image

MANAGED_LABEL = "arena.managed"
JOB_LABEL = "arena.job"
INSTANCE_LABEL = "arena.instance"
WAIT_SLICE_S = 2.0
# How a command runs in an environment: killed (with the process group it starts) at its time
# limit, its output to a file in the environment's own /tmp, of which at most the cap (+1 byte, to
# tell a cut) comes back. Nothing waits for processes it leaves behind: they hold no pipe to us.
_EXEC_WRAPPER = (
    "limit=$0 cap=$1; shift; out=$(mktemp) || exit 125; "
    'timeout --signal=KILL "$limit" "$@" >"$out" 2>&1 </dev/null; status=$?; '
    'head -c "$cap" "$out"; rm -f "$out"; exit $status'
)


class DockerRunner:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        runtime: str | None = None,
        instance: str = "default",
        gpus: GpuAllocator | None = None,
    ) -> None:
        self._base_url = base_url
        self._runtime = runtime
        self._instance = instance
        self.gpus = gpus or GpuAllocator()
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                if self._base_url:
                    self._client = docker.DockerClient(base_url=self._base_url)
                else:
                    self._client = docker.from_env()
            except DockerException:
                raise SandboxError("the Docker engine does not answer") from None
        return self._client

    # -- images -------------------------------------------------------------------------------
    def has_image(self, image_id: str) -> bool:
        try:
            self.client.images.get(image_id)
            return True
        except DockerImageNotFound:
            return False
        except DockerException as exc:
            raise SandboxError(f"the Docker engine failed to look up an image: {exc}") from None

    def ensure_image(self, *, image_id: str, tarball: Path) -> None:
        try:
            self.client.images.get(image_id)
            return
        except DockerImageNotFound:
            pass
        except DockerException as exc:
            raise SandboxError(f"the Docker engine failed to look up an image: {exc}") from None
        try:
            with tarball.open("rb") as handle:
                self.client.api.load_image(handle)
            self.client.images.get(image_id)
        except DockerException as exc:
            raise SandboxError(f"the Docker engine failed to load the image: {exc}") from None

    # -- running ------------------------------------------------------------------------------
    def run(self, spec: RunSpec, during: Callable[[Callable[[], bool]], None] | None = None) -> RunOutcome:
        devices = self.gpus.acquire(spec.job_id, spec.limits.gpus)
        try:
            return self._run(spec, devices, during)
        finally:
            self.gpus.release(spec.job_id)

    def _run(
        self, spec: RunSpec, devices: list[str], during: Callable[[Callable[[], bool]], None] | None
    ) -> RunOutcome:
        container = self._create(spec, devices)
        stopped = False
        try:
            started = time.monotonic()
            container.start()
            if during is None:
                timed_out = self._wait(container, deadline=started + spec.limits.time_limit_s)
            else:
                timed_out, stopped = False, self._serve(container, during)
            duration = time.monotonic() - started
            container.reload()
            state = container.attrs["State"]
            tail = container.logs(tail=200)[-spec.limits.log_tail_bytes :]
        except (DockerException, requests.RequestException) as exc:
            raise SandboxError(f"the Docker engine failed while running a job: {exc}") from None
        finally:
            self._remove(container)
        if timed_out:
            return RunOutcome("timeout", None, duration, tail)
        if state.get("OOMKilled"):
            return RunOutcome("out_of_memory", state.get("ExitCode"), duration, tail)
        return RunOutcome("exited", None if stopped else state.get("ExitCode"), duration, tail)

    def _serve(self, container: Container, during: Callable[[Callable[[], bool]], None]) -> bool:
        """Run `during(alive)` while the container serves, then stop it; returns whether it was
        still running (stopped by the platform, so its exit code means nothing)."""

        def alive() -> bool:
            try:
                container.reload()
            except DockerException:
                return False
            status: str = container.status
            return status == "running"

        during(alive)
        if not alive():
            return False
        try:
            container.kill()
        except APIError:
            return False  # it exited between the check and the kill
        container.wait(timeout=30)
        return True

    def _create(self, spec: RunSpec, devices: list[str] | None = None) -> Container:
        options = self._sandbox(spec.image_id, spec.limits, job_id=spec.job_id)
        options["mounts"] = [
            Mount("/input", str(spec.input_dir), type="bind", read_only=True),
            Mount("/output", str(spec.output_dir), type="bind", read_only=False),
            *([Mount("/run/arena", str(spec.run_dir), type="bind", read_only=False)] if spec.run_dir else []),
        ]
        amd_paths, gpu_env = self.gpus.options(devices or [], engine="docker")
        options["environment"] = {**spec.environment, **gpu_env}
        if nvidia := self.gpus.nvidia(devices or []):
            options["device_requests"] = [DeviceRequest(device_ids=nvidia, capabilities=[["gpu"]])]
        if amd_paths:
            options["devices"] = amd_paths
        return self._create_container(options)

    def _create_container(self, options: dict[str, Any]) -> Container:
        try:
            return self.client.containers.create(**options)
        except DockerImageNotFound:
            raise SandboxError("the image vanished from the engine before the job started") from None
        except DockerException as exc:
            raise SandboxError(f"the Docker engine refused to create the container: {exc}") from None

    def _sandbox(self, image_id: str, limits: Limits, *, job_id: str) -> dict[str, Any]:
        """The hardening every container gets, team image or environment: no network, read-only
        root, no capabilities, an unprivileged user, memory, CPU, process and file-size limits."""
        mem = f"{limits.memory_mb}m"
        options = dict(
            image=image_id,
            user=f"{CONTAINER_UID}:{CONTAINER_GID}",
            network_mode="none",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            init=True,
            mem_limit=mem,
            memswap_limit=mem,
            pids_limit=limits.pids,
            nano_cpus=int(limits.cpus * 1e9),
            shm_size="64m",
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
            ulimits=[
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="nofile", soft=1024, hard=1024),
                Ulimit(name="fsize", soft=limits.max_file_bytes, hard=limits.max_file_bytes),
            ],
            labels={MANAGED_LABEL: "1", JOB_LABEL: job_id, INSTANCE_LABEL: self._instance},
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
            detach=True,
        )
        if self._runtime:
            options["runtime"] = self._runtime
        return options

    # -- environments (agent challenges) --------------------------------------------------------
    def start_environment(self, spec: EnvironmentSpec) -> str:
        options = self._sandbox(spec.image_id, spec.limits, job_id=spec.job_id)
        options["tmpfs"] = {
            **options["tmpfs"],
            spec.workdir: (f"rw,nosuid,nodev,size={spec.workdir_mb}m,uid={TOOL_UID},gid={TOOL_UID},mode=0755"),
        }
        options["mounts"] = [
            Mount("/arena/stage", str(spec.stage_dir), type="bind", read_only=True),
            Mount("/arena/hidden", str(spec.hidden_dir), type="bind", read_only=True),
        ]
        options["entrypoint"] = ["sleep", "infinity"]
        options["command"] = []
        options["working_dir"] = spec.workdir
        options["name"] = f"arena-env-{spec.name}"
        container = self._create_container(options)
        try:
            container.start()
        except DockerException as exc:
            self._remove(container)
            raise SandboxError(f"the Docker engine failed to start an environment: {exc}") from None
        handle: str = container.id
        return handle

    def exec_in(
        self, handle: str, argv: list[str], *, user: int, workdir: str, time_limit_s: float, max_output_bytes: int
    ) -> ExecResult:
        command = ["sh", "-c", _EXEC_WRAPPER, f"{max(time_limit_s, 0.1):.1f}", str(max_output_bytes + 1), *argv]
        started = time.monotonic()
        try:
            exec_id = self.client.api.exec_create(
                handle, command, user=f"{user}:{user}", workdir=workdir, stdout=True, stderr=True
            )["Id"]
            output = self.client.api.exec_start(exec_id)
            code = self.client.api.exec_inspect(exec_id).get("ExitCode")
        except (DockerException, requests.RequestException) as exc:
            raise SandboxError(f"the Docker engine failed to run a command in an environment: {exc}") from None
        duration = time.monotonic() - started
        timed_out = code == 137 and duration >= time_limit_s - 0.05
        truncated = len(output) > max_output_bytes
        return ExecResult(None if timed_out else code, output[:max_output_bytes], truncated, timed_out, duration)

    def stop_environment(self, handle: str) -> None:
        try:
            self.client.containers.get(handle).remove(force=True, v=True)
        except DockerException:
            pass  # gone already; else the next sweep removes it (it carries the job's label)

    def _wait(self, container: Container, *, deadline: float) -> bool:
        """Wait until the container exits or the deadline passes; returns True on timeout.

        `container.wait(timeout=…)` is only an HTTP read timeout, so the deadline is kept here.
        """
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                container.wait(timeout=min(remaining, WAIT_SLICE_S) + 0.05)
                return False
            except requests.exceptions.ConnectionError:
                continue  # read timed out: the container is still running
            except requests.exceptions.ReadTimeout:
                continue
        try:
            container.kill()
        except APIError:
            pass  # it exited between the last check and the kill
        container.wait(timeout=30)
        return True

    def _remove(self, container: Container) -> None:
        try:
            container.remove(force=True, v=True)
        except DockerException:
            pass  # already gone, or being removed by another sweep; else the next sweep removes it

    def _managed(self, **labels: str) -> list[Container]:
        """This instance's containers (with `labels`), listed without inspecting each one: a
        container removed meanwhile by another worker's sweep is no error."""
        wanted = [MANAGED_LABEL, f"{INSTANCE_LABEL}={self._instance}", *(f"{k}={v}" for k, v in labels.items())]
        try:
            found: list[Container] = self.client.containers.list(all=True, sparse=True, filters={"label": wanted})
        except DockerException as exc:
            raise SandboxError(f"the Docker engine failed to list containers: {exc}") from None
        return found

    def stop(self, job_id: str) -> None:
        for container in self._managed(**{JOB_LABEL: job_id}):
            try:
                container.kill()
            except DockerException:
                pass  # it exited meanwhile; `run` sees it ended either way

    def sweep(self, *, keep: set[str]) -> int:
        removed = 0
        for container in self._managed():
            if (container.attrs.get("Labels") or {}).get(JOB_LABEL) not in keep:
                self._remove(container)
                removed += 1
        return removed


# -- engine helpers for clients and tooling --------------------------------------------------------
def _client() -> docker.DockerClient:
    try:
        return docker.from_env()
    except DockerException:
        raise SandboxError("no Docker engine answers here; start it (see scripts/setup.sh)") from None


def _get_image(name: str) -> Image:
    try:
        return _client().images.get(name)
    except DockerImageNotFound:
        raise ImageNotFound(
            f"image {name!r} is not in the local Docker engine; build it or load it first "
            "(`docker images` lists what is there)"
        ) from None


def stream_image(name: str) -> tuple[str, int, Iterator[bytes]]:
    """`docker save` of image `name` as chunks; returns (image id, approximate size, chunks)."""
    image = _get_image(name)
    return image.id, int(image.attrs.get("Size") or 0), _save_chunks(image)


def export_image(name: str, dest: Path) -> tuple[str, str, int]:
    """Write `docker save` of image `name` to `dest`; returns (image id, sha256 hex, bytes)."""
    image_id, _estimate, chunks = stream_image(name)
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return image_id, digest.hexdigest(), size


def _save_chunks(image: Image) -> Iterator[bytes]:
    try:
        yield from image.save(chunk_size=1 << 20, named=False)
    except DockerException as exc:
        raise SandboxError(f"the Docker engine failed to export the image: {exc}") from None


def build_image(context: Path, *, tag: str, buildargs: dict[str, str] | None = None, nocache: bool = False) -> str:
    """Build an image from a folder without network access; returns the image id."""
    image, _logs = _client().images.build(
        path=str(context),
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="none",
        buildargs=buildargs,
        nocache=nocache,
    )
    image_id: str = image.id
    return image_id


def image_exists(name: str) -> bool:
    try:
        _client().images.get(name)
        return True
    except DockerImageNotFound:
        return False
