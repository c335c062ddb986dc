"""The one place that reads the environment. Everything else receives a `Settings`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    master_key_file: Path
    master_key_env: str | None = None
    signing_key_file: Path | None = None
    runner: str = "docker"
    docker_runtime: str | None = None
    podman_user: str | None = None  # rootless Podman run as this user when the platform runs as root
    job_root: Path = Path("/dev/shm/arena-jobs")
    scratch_dir: Path = Path("/dev/shm/arena-scratch")
    job_tmpfs: bool = False
    gpus: str = "auto"
    worker_cpus: float = 0.0  # 0: all of the machine's cores
    worker_memory_mb: int = 0  # 0: three quarters of the machine's memory
    max_image_bytes: int = 8 * 1024**3
    max_predictions_bytes: int = 256 * 1024**2
    max_bundle_bytes: int = 4 * 1024**3
    worker_poll_s: float = 1.0
    max_attempts: int = 3
    team_max_running: int = 2  # a team's jobs running at once, on all workers together
    # Where evaluations run: "local" (this machine's engine), "slurm" (batch jobs on GPU nodes) or
    # "sites" (site agents pull them: services/sites.py; this machine keeps leases and rounds).
    executor: str = "local"
    node_url: str = "http://127.0.0.1:8000"  # how GPU nodes reach this platform's API
    slurm_partition: str | None = None
    slurm_account: str | None = None
    slurm_margin_s: int = 120  # on top of a challenge's time limit: staging, image load, upload
    slurm_max_jobs: int = 100  # Slurm jobs in flight at once, from this dispatcher
    slurm_poll_s: float = 5.0
    slurm_node_command: str = ""  # how a node starts `arena node-run`; default: this arena
    slurm_sbatch: str = "sbatch"
    slurm_log_dir: str = "/tmp"  # on the nodes: node-run's own messages (never a container's)
    rate_limit_per_minute: int = 600  # per team or organiser, all API processes together; 0: off
    max_request_bytes: int = 1024**2  # any request's body, but the routes that stream uploads
    # The address people and browsers reach this platform at: absolute links on pages, and
    # Secure cookies when it is https. Never taken from a request's Host header.
    public_url: str = DEFAULT_URL
    team_max_open_uploads: int = 4  # resumable uploads a team may have open (not yet submitted)
    team_max_upload_bytes: int = 16 * 1024**3  # their declared sizes together
    upload_keep_hours: float = 24.0  # a completed upload never submitted is removed after this
    lease_s: float = 30.0  # a running job's lease; its worker's lease keeper renews it every quarter of this
    embedded_worker: bool = True
    # The log's checkpoint origin and note key name (c2sp.org/tlog-checkpoint): the public URL of
    # the log without the scheme. Witnesses remember it: set it once, before the first witness.
    log_origin: str = "arena.localhost/log"
    # The witnesses whose cosignatures the platform collects: C2SP vkeys (name+id+key), 0x04 keys.
    witness_keys: tuple[str, ...] = ()
    metrics_token: str | None = None  # required by /metrics when set

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def instance_id(self) -> str:
        """Names this installation's containers, so that several on one engine never collide."""
        return hashlib.sha256(self.database_url.encode()).hexdigest()[:12]

    @property
    def signing_key_path(self) -> Path:
        """The log's key: it signs entries, checkpoints and (before format 2) commitments."""
        return self.signing_key_file or self.home / "signing.key"

    @property
    def commitment_key_path(self) -> Path:
        """The key that signs hidden-set commitments, next to the log's."""
        return self.signing_key_path.with_name("commitment.key")

    @property
    def session_key_path(self) -> Path:
        """The web session cookies' secret, next to the log's key."""
        return self.signing_key_path.with_name("session.key")


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from `ARENA_*` environment variables, then `overrides` (for tests)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("ARENA_HOME", "./var")).resolve()
    database_url = env.get("ARENA_DATABASE_URL", f"sqlite:///{home / 'arena.db'}")
    instance = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    settings = Settings(
        home=home,
        database_url=database_url,
        master_key_file=Path(env.get("ARENA_MASTER_KEY_FILE", str(home / "master.key"))),
        master_key_env=env.get("ARENA_MASTER_KEY") or None,
        signing_key_file=Path(env["ARENA_SIGNING_KEY_FILE"]) if env.get("ARENA_SIGNING_KEY_FILE") else None,
        runner=env.get("ARENA_RUNNER", "docker"),
        docker_runtime=env.get("ARENA_DOCKER_RUNTIME") or None,
        podman_user=env.get("ARENA_PODMAN_USER") or None,
        job_root=Path(env.get("ARENA_JOB_ROOT", f"/dev/shm/arena-jobs/{instance}")),
        scratch_dir=Path(env.get("ARENA_SCRATCH_DIR", "/dev/shm/arena-scratch")),
        job_tmpfs=_bool(env.get("ARENA_JOB_TMPFS", "1" if os.geteuid() == 0 else "0")),
        embedded_worker=_bool(env.get("ARENA_EMBEDDED_WORKER", "1")),
        gpus=env.get("ARENA_GPUS", "auto"),
        worker_cpus=float(env.get("ARENA_WORKER_CPUS", "0")),
        lease_s=float(env.get("ARENA_LEASE_SECONDS", "30")),
        rate_limit_per_minute=int(env.get("ARENA_RATE_LIMIT_PER_MINUTE", "600")),
        max_attempts=int(env.get("ARENA_MAX_ATTEMPTS", "3")),
        max_request_bytes=int(env.get("ARENA_MAX_REQUEST_BYTES", str(1024**2))),
        public_url=env.get("ARENA_PUBLIC_URL", DEFAULT_URL).rstrip("/"),
        team_max_open_uploads=int(env.get("ARENA_TEAM_MAX_OPEN_UPLOADS", "4")),
        team_max_upload_bytes=int(env.get("ARENA_TEAM_MAX_UPLOAD_BYTES", str(16 * 1024**3))),
        upload_keep_hours=float(env.get("ARENA_UPLOAD_KEEP_HOURS", "24")),
        max_bundle_bytes=int(env.get("ARENA_MAX_BUNDLE_BYTES", str(4 * 1024**3))),
        team_max_running=int(env.get("ARENA_TEAM_MAX_RUNNING", "2")),
        executor=env.get("ARENA_EXECUTOR", "local"),
        node_url=env.get("ARENA_NODE_URL", DEFAULT_URL).rstrip("/"),
        slurm_partition=env.get("ARENA_SLURM_PARTITION") or None,
        slurm_account=env.get("ARENA_SLURM_ACCOUNT") or None,
        slurm_margin_s=int(env.get("ARENA_SLURM_MARGIN_SECONDS", "120")),
        slurm_max_jobs=int(env.get("ARENA_SLURM_MAX_JOBS", "100")),
        slurm_poll_s=float(env.get("ARENA_SLURM_POLL_SECONDS", "5")),
        slurm_node_command=env.get("ARENA_SLURM_NODE_COMMAND", ""),
        slurm_sbatch=env.get("ARENA_SLURM_SBATCH", "sbatch"),
        slurm_log_dir=env.get("ARENA_SLURM_LOG_DIR", "/tmp"),
        worker_memory_mb=int(env.get("ARENA_WORKER_MEMORY_MB", "0")),
        log_origin=env.get("ARENA_LOG_ORIGIN", "arena.localhost/log").strip().rstrip("/"),
        witness_keys=tuple(env.get("ARENA_WITNESS_KEYS", "").split()),
        metrics_token=env.get("ARENA_METRICS_TOKEN") or None,
    )
    if overrides:
        known = {f.name for f in fields(Settings)}
        settings = replace(settings, **{k: v for k, v in overrides.items() if k in known})
    if not settings.public_url.startswith(("http://", "https://")):
        raise ValueError(f"ARENA_PUBLIC_URL must start with http:// or https://, not {settings.public_url!r}")
    return settings


def receipts_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the CLI keeps the receipts and signed results it is given: $XDG_STATE_HOME/arena/receipts
    (default ~/.local/state/arena/receipts), or ARENA_RECEIPTS_DIR."""
    env = os.environ if environ is None else environ
    if env.get("ARENA_RECEIPTS_DIR"):
        return Path(env["ARENA_RECEIPTS_DIR"])
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "state")
    return Path(state) / "arena" / "receipts"


def client_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("ARENA_URL", DEFAULT_URL).rstrip("/")


def client_token(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return env.get("ARENA_TOKEN") or None


def site_token(environ: Mapping[str, str] | None = None) -> str | None:
    """A site agent's credential (`arena site-agent`), when not given in a file."""
    env = os.environ if environ is None else environ
    return env.get("ARENA_SITE_TOKEN") or None


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """ARENA_LOG_FORMAT for the commands that log (serve, worker, site-agent): text or json."""
    env = os.environ if environ is None else environ
    value = env.get("ARENA_LOG_FORMAT", "text").strip().lower()
    return value if value in ("text", "json") else "text"
