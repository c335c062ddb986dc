"""The one module that talks to Podman, rootless: no daemon, no root, one `podman` process a run.

Podman runs as an unprivileged user: the node's own user inside a Slurm job, or, where the platform
runs as root (a central worker, the tests), the user named in `user` through `runuser`. It refuses
to run containers as root. The container gets the same sandbox as under Docker: no network, a
read-only root, all capabilities dropped, no-new-privileges, uid 65532 (mapped onto the podman
user with `--userns=keep-id`, so the job folder it writes is the podman user's, never root's), a
tmpfs /tmp, core, open-file and file-size limits, the deadline, and a capped log tail.

Rootless Podman on cgroup v1 (Debian 12's default on many HPC systems) cannot set cgroup limits:
`--memory`, `--pids-limit` and `--cpus` are passed where they hold (cgroup v2), left out there.
This runner bounds each process with rlimits instead (RLIMIT_DATA for memory, RLIMIT_NPROC
for processes); the CPU share and the whole job's memory are held by the Slurm job's cgroup, which
contains the container because podman, conmon and the container are children of `node-run`.
See docs/hpc.md.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pwd
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

from sandbox._base import (
    CONTAINER_GID,
    CONTAINER_UID,
    EnvironmentSpec,
    ExecResult,
    RunOutcome,
    RunSpec,
    SandboxError,
)
from sandbox._gpus import GpuAllocator

MANAGED_LABEL = "arena.managed"
JOB_LABEL = "arena.job"
INSTANCE_LABEL = "arena.instance"
NPROC_MARGIN = 64  # RLIMIT_NPROC counts the podman user's own processes (conmon, podman) too
KILLED = 137  # 128 + SIGKILL
During = Callable[[Callable[[], bool]], None]  # see Runner.run


class PodmanRunner:
    def __init__(
        self,
        *,
        command: str = "podman",
        user: str | None = None,
        instance: str = "default",
        gpus: GpuAllocator | None = None,
    ) -> None:
        self._command = command
        self._user = user
        self._instance = instance
        self.gpus = gpus or GpuAllocator()
        self._killed: set[str] = set()
        self._lock = threading.Lock()
        self._cgroups: bool | None = None

    # -- the podman command ---------------------------------------------------------------------
    def _argv(self, *args: str) -> list[str]:
        if self._user:
            return ["runuser", "-u", self._user, "--", self._command, *args]
        if os.geteuid() == 0:
            raise SandboxError(
                "rootless Podman must not run as root: set ARENA_PODMAN_USER to an "
                "unprivileged user with subordinate ids"
            )
        return [self._command, *args]

    def _podman(
        self, *args: str, stdin: BinaryIO | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                self._argv(*args), stdin=stdin, capture_output=True, timeout=timeout, cwd="/", env=self._env()
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxError(f"podman {args[0]} failed: {type(exc).__name__}") from None

    def _env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "XDG_RUNTIME_DIR", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")
        env = {k: v for k, v in os.environ.items() if k in keep}
        if self._user:
            env["HOME"] = pwd.getpwnam(self._user).pw_dir
            env.pop("XDG_RUNTIME_DIR", None)  # root's; podman picks the user's own
        elif "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        return env

    def folder_owner(self) -> tuple[int, int]:
        """Who must own a job's writable folders: the podman user (uid 65532 inside maps onto it)."""
        if self._user:
            entry = pwd.getpwnam(self._user)
            return entry.pw_uid, entry.pw_gid
        return os.getuid(), os.getgid()

    def cgroup_limits(self) -> bool:
        """Whether podman can set cgroup limits here (cgroup v2); on v1 rootless it cannot, and
        the flags are left out rather than passed to be ignored."""
        if self._cgroups is None:
            done = self._podman("info", "--format={{.Host.CgroupsVersion}}")
            if done.returncode != 0:
                raise SandboxError(f"podman does not run here: {_tail(done.stderr)}")
            self._cgroups = done.stdout.strip() == b"v2"
        return self._cgroups

    # -- images ---------------------------------------------------------------------------------
    def has_image(self, image_id: str) -> bool:
        return self._podman("image", "exists", _bare(image_id)).returncode == 0

    def ensure_image(self, *, image_id: str, tarball: Path) -> None:
        if self.has_image(image_id):
            return
        with tarball.open("rb") as handle:  # read here, so the podman user needs no access to it
            done = self._podman("load", "--quiet", stdin=handle, timeout=1800)
        if done.returncode != 0 or not self.has_image(image_id):
            raise SandboxError(f"podman failed to load the image: {_tail(done.stderr)}")

    # -- running --------------------------------------------------------------------------------
    def run(self, spec: RunSpec, during: During | None = None) -> RunOutcome:
        devices = self.gpus.acquire(spec.job_id, spec.limits.gpus)
        try:
            return self._run(spec, self.gpus.options(devices, engine="podman"), during)
        finally:
            self.gpus.release(spec.job_id)
            with self._lock:
                self._killed.discard(spec.job_id)

    def _run(self, spec: RunSpec, gpu_args: tuple[list[str], dict[str, str]], during: During | None) -> RunOutcome:
        with tempfile.TemporaryDirectory(prefix="arena-podman-") as tmp:
            cidfile = Path(tmp) / "cid"
            os.chmod(tmp, 0o777)  # the podman user writes the container id here
            process = subprocess.Popen(
                self._argv(*self.run_args(spec, gpu_args, cidfile)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=self._env(),
            )
            # stdout=PIPE, buffered: a BufferedReader, never None
            tail = _Tail(cast(io.BufferedReader, process.stdout), spec.limits.log_tail_bytes)
            started = time.monotonic()
            if during is None:
                timed_out, stopped = self._wait(process, spec, deadline=started + spec.limits.time_limit_s), False
            else:
                timed_out, stopped = False, self._serve(process, spec, during)
            duration = time.monotonic() - started
            tail.join()
            created = cidfile.exists() and cidfile.read_text().strip()
        code = process.returncode
        if not created:
            raise SandboxError(f"podman could not create the container (exit {code}): {_tail(tail.value())}")
        with self._lock:
            stopped = stopped or spec.job_id in self._killed
        if timed_out:
            return RunOutcome("timeout", None, duration, tail.value())
        if code == KILLED and not stopped:  # SIGKILL from no one here: an OOM killer (a cgroup's)
            return RunOutcome("out_of_memory", code, duration, tail.value())
        return RunOutcome("exited", None if stopped else code, duration, tail.value())

    def run_args(self, spec: RunSpec, gpu_args: tuple[list[str], dict[str, str]], cidfile: Path) -> list[str]:
        """`podman run` with the sandbox's flags (also what the benchmark's bare run uses)."""
        limits = spec.limits
        device_flags, gpu_env = gpu_args
        args = [
            "run",
            "--rm",
            f"--name={self.name(spec.job_id)}",
            f"--cidfile={cidfile}",
            "--network=none",
            "--read-only",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            f"--userns=keep-id:uid={CONTAINER_UID},gid={CONTAINER_GID}",
            f"--user={CONTAINER_UID}:{CONTAINER_GID}",
            "--init",
            "--pull=never",
            "--log-driver=none",
            "--shm-size=64m",
            f"--tmpfs=/tmp:rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777",
            "--ulimit=core=0:0",
            "--ulimit=nofile=1024:1024",
            f"--ulimit=fsize={limits.max_file_bytes}:{limits.max_file_bytes}",
            f"--ulimit=nproc={limits.pids + NPROC_MARGIN}:{limits.pids + NPROC_MARGIN}",
            f"--ulimit=data={limits.memory_mb << 20}:{limits.memory_mb << 20}",
            f"--mount=type=bind,src={spec.input_dir},dst=/input,ro=true",
            f"--mount=type=bind,src={spec.output_dir},dst=/output",
            f"--label={MANAGED_LABEL}=1",
            f"--label={JOB_LABEL}={spec.job_id}",
            f"--label={INSTANCE_LABEL}={self._instance}",
            *device_flags,
        ]
        if self.cgroup_limits():
            args += [
                f"--memory={limits.memory_mb}m",
                f"--memory-swap={limits.memory_mb}m",
                f"--pids-limit={limits.pids}",
                f"--cpus={limits.cpus}",
            ]
        if spec.run_dir:
            args.append(f"--mount=type=bind,src={spec.run_dir},dst=/run/arena")
        for key, value in {**spec.environment, **gpu_env}.items():
            args.append(f"--env={key}={value}")
        return [*args, _bare(spec.image_id)]

    def name(self, job_id: str) -> str:
        return f"arena-{self._instance}-{job_id}"

    def _wait(self, process: subprocess.Popen[bytes], spec: RunSpec, *, deadline: float) -> bool:
        """Wait for the run to end or the deadline; True on timeout (the container is killed)."""
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
            return False
        except subprocess.TimeoutExpired:
            self._kill(spec.job_id)
            self._reap(process)
            return True

    def _serve(self, process: subprocess.Popen[bytes], spec: RunSpec, during: During) -> bool:
        """Run `during(alive)` while the container serves, then stop it; whether it still ran."""
        during(lambda: process.poll() is None)
        if process.poll() is not None:
            return False
        self._kill(spec.job_id)
        self._reap(process)
        return True

    def _reap(self, process: subprocess.Popen[bytes]) -> None:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # podman itself hung; the next sweep removes the container
            process.wait()

    def _kill(self, job_id: str) -> None:
        self._podman("kill", "--signal=KILL", self.name(job_id), timeout=60)

    def stop(self, job_id: str) -> None:
        with self._lock:
            self._killed.add(job_id)
        self._kill(job_id)  # an error only means that it is gone already; `run` sees it ended

    def _managed(self) -> list[tuple[str, str | None]]:
        done = self._podman(
            "ps",
            "--all",
            "--format=json",
            f"--filter=label={INSTANCE_LABEL}={self._instance}",
            f"--filter=label={MANAGED_LABEL}=1",
        )
        if done.returncode != 0:
            raise SandboxError(f"podman failed to list containers: {_tail(done.stderr)}")
        rows = json.loads(done.stdout or b"[]") or []
        return [(row["Id"], (row.get("Labels") or {}).get(JOB_LABEL)) for row in rows]

    def sweep(self, *, keep: set[str]) -> int:
        gone = [cid for cid, job in self._managed() if job not in keep]
        if gone:  # --ignore: one removed meanwhile by another sweep is no error
            self._podman("rm", "--force", "--ignore", "--time=0", *gone, timeout=300)
        return len(gone)

    # -- environments (agent challenges): not under Podman yet ----------------------------------
    def start_environment(self, spec: EnvironmentSpec) -> str:
        raise SandboxError(
            "agent challenges' environments run under Docker only; "
            "rootless Podman (ARENA_RUNNER=podman) cannot run them yet"
        )

    def exec_in(
        self, handle: str, argv: list[str], *, user: int, workdir: str, time_limit_s: float, max_output_bytes: int
    ) -> ExecResult:
        raise SandboxError("rootless Podman runs no environments")

    def stop_environment(self, handle: str) -> None:
        pass  # none is ever started


class _Tail:
    """Drains the container's merged stdout and stderr from a thread, keeping the last bytes."""

    def __init__(self, stream: io.BufferedReader, limit: int) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size, self._limit, self._stream = 0, limit, stream
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self._stream.read1(65536), b""):
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._chunks and self._size - len(self._chunks[0]) >= self._limit:
                self._size -= len(self._chunks.popleft())
        self._stream.close()

    def join(self) -> None:
        self._thread.join(timeout=30)

    def value(self) -> bytes:
        return b"".join(self._chunks)[-self._limit :] if self._limit else b""


def _bare(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


def _tail(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()[-300:]
