"""The running platform's collaborators (`Platform`), built once from `Settings` and passed to services.

Building it opens nothing: the engine connects on first query, the runner on first job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import evaluators
from arena.config import Settings
from arena.db import make_engine, make_sessionmaker
from arena.files import private_folder, tighten
from arena.signing import Signer, load_or_create_secret, load_or_create_signer
from hidden_sets import HiddenSetStore, Keyring, generate_keyring_file, load_keyring
from sandbox import GpuAllocator, Runner, make_runner, parse_gpu_setting

log = logging.getLogger("arena")


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker
    hidden_sets: HiddenSetStore
    runner: Runner
    signer: Signer
    # Values that are pure functions of the append-only public log, keyed by the log's tip, so a
    # new entry invalidates them (per process; see leaderboard.leaderboard).
    memo: dict = field(default_factory=dict, repr=False)
    # Separate keys: commitments are signed by their own key (certified in the log), web sessions
    # by their own secret. None/empty: fall back to the log's key (a Platform built by hand).
    commitment_signer: Signer | None = None
    session_secret: bytes = field(default=b"", repr=False)

    @property
    def commitments_signer(self) -> Signer:
        return self.commitment_signer or self.signer

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    @property
    def image_dir(self) -> Path:
        return self.settings.blob_dir / "images"

    @property
    def sample_dir(self) -> Path:
        return self.settings.blob_dir / "samples"

    @property
    def upload_dir(self) -> Path:
        return self.settings.blob_dir / "uploads"


def _keyring(settings: Settings) -> Keyring:
    path = settings.master_key_file
    if settings.master_key_env or path.exists():
        return load_keyring(path=path, env_value=settings.master_key_env)
    ring = generate_keyring_file(path)
    log.warning(
        "generated a DEVELOPMENT master key at %s (mode 0600). For real use, keep the keyring "
        "off this machine's disk and set ARENA_MASTER_KEY_FILE or ARENA_MASTER_KEY.",
        path,
    )
    return ring


def build_platform(settings: Settings, *, runner: Runner | None = None) -> Platform:
    private_folder(settings.home)
    tighten(settings.home)
    private_folder(settings.blob_dir)
    for name in evaluators.load_plugins():
        log.info("loaded the organisers' metric plugin %s", name)
    engine = make_engine(settings.database_url)
    store = HiddenSetStore(
        root=settings.blob_dir / "hidden-sets",
        keyring=_keyring(settings),
        reload=lambda: load_keyring(path=settings.master_key_file, env_value=settings.master_key_env),
    )
    if runner is None:
        options = {}
        if settings.runner == "docker":
            options = {
                "runtime": settings.docker_runtime,
                "instance": settings.instance_id,
                "gpus": GpuAllocator(parse_gpu_setting(settings.gpus)),
            }
        elif settings.runner == "podman":
            options = {
                "user": settings.podman_user,
                "instance": settings.instance_id,
                "gpus": GpuAllocator(parse_gpu_setting(settings.gpus)),
            }
        runner = make_runner(settings.runner, **options)
    signer = load_or_create_signer(settings.signing_key_path)
    return Platform(
        settings,
        engine,
        make_sessionmaker(engine),
        store,
        runner,
        signer,
        commitment_signer=load_or_create_signer(settings.commitment_key_path),
        session_secret=load_or_create_secret(settings.session_key_path),
    )
