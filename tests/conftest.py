"""Shared fixtures. Each test gets a fresh ARENA_HOME, database and job folder."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest

from arena import create_app
from arena.db import upgrade
from arena.services import accounts
from sandbox import FakeRunner

BASE_IMAGE = os.environ.get("ARENA_BASE_IMAGE", "arena/python-base:bookworm")


@pytest.fixture
def job_root():
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
    root = base / f"arena-test-{secrets.token_hex(4)}"
    yield root
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(root.parent / f"{root.name}-scratch", ignore_errors=True)


@pytest.fixture
def fake_runner():
    return FakeRunner()


@pytest.fixture
def app(tmp_path, job_root, fake_runner):
    app = create_app({
        "TESTING": True, "home": tmp_path / "home", "database_url": f"sqlite:///{tmp_path}/arena.db",
        "master_key_file": tmp_path / "home" / "master.key", "job_root": job_root,
        "scratch_dir": job_root.parent / f"{job_root.name}-scratch",
        "RUNNER": fake_runner,
    })
    upgrade(app.extensions["arena"].engine)
    yield app
    app.extensions["arena"].engine.dispose()


@pytest.fixture
def platform(app):
    return app.extensions["arena"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def organiser_token(platform):
    return accounts.create_organiser(platform, name="Organiser")[1]


@pytest.fixture
def team_token(platform):
    return accounts.create_team(platform, name="Team A", factories=["Factory A"])[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the real engine ---------------------------------------------------------------------------------
def _engine_problem() -> str | None:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.images.get(BASE_IMAGE)
    except Exception as exc:  # noqa: BLE001 - any failure means: no usable engine
        return f"no usable Docker engine with {BASE_IMAGE} ({type(exc).__name__}); run scripts/setup.sh"
    return None


@pytest.fixture(scope="session")
def docker_engine():
    """The real engine. Under CI a missing engine fails the test instead of skipping it."""
    problem = _engine_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    import docker

    return docker.from_env()
