"""Shared fixtures. Each test gets a fresh ARENA_HOME, database and job folder."""

from __future__ import annotations

import os
import secrets
import shutil
import time
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


# -- PostgreSQL ------------------------------------------------------------------------------------
POSTGRES_URL = os.environ.get("ARENA_TEST_POSTGRES_URL", "postgresql+psycopg://arena:arena@127.0.0.1:5432/arena")


def _postgres_problem() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no usable server
        return (
            f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); "
            "run ARENA_SETUP_SERVICES=postgres scripts/setup.sh"
        )
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server's URL. Under CI a missing server fails the test instead of skipping it."""
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return POSTGRES_URL


@pytest.fixture
def postgres_database(postgres_server):
    """A fresh, empty database on the test server; dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"arena_test_{secrets.token_hex(6)}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        # The test's own connections are closed by now; an autovacuum worker (not ours to
        # terminate) may still be on it for a moment: try again, then leave it to the next CI run.
        for _attempt in range(20):
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'drop database if exists "{name}"'))
                break
            except Exception:  # noqa: BLE001 - "is being accessed by other users"
                time.sleep(0.25)
    finally:
        admin.dispose()


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """SQLite by default; a fresh PostgreSQL database with ARENA_TEST_DATABASE=postgres."""
    if os.environ.get("ARENA_TEST_DATABASE") == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"sqlite:///{tmp_path}/arena.db"


@pytest.fixture
def app(tmp_path, job_root, fake_runner, database_url):
    app = create_app(
        {
            "TESTING": True,
            "home": tmp_path / "home",
            "database_url": database_url,
            "master_key_file": tmp_path / "home" / "master.key",
            "job_root": job_root,
            "scratch_dir": job_root.parent / f"{job_root.name}-scratch",
            "RUNNER": fake_runner,
        }
    )
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


def web_sign_in(client, token: str, role: str = "team"):
    """Sign in on the pages as a person would: the form's CSRF token, then the token; follows the
    redirect to the dashboard or console."""
    import re

    page = client.get(f"/sign-in?role={role}").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/sign-in", data={"csrf": csrf, "token": token, "role": role}, follow_redirects=True)


def csrf_of(client, path: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


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


# -- rootless Podman ---------------------------------------------------------------------------------
PODMAN_USER = os.environ.get("ARENA_TEST_PODMAN_USER", "arena-podman")


def _podman_problem() -> str | None:
    import pwd
    import shutil as _shutil
    import subprocess

    if _shutil.which("podman") is None:
        return "no podman here; run ARENA_SETUP_SERVICES=podman scripts/setup.sh"
    try:
        pwd.getpwnam(PODMAN_USER)
    except KeyError:
        return f"no user {PODMAN_USER} for rootless Podman; run ARENA_SETUP_SERVICES=podman scripts/setup.sh"
    argv = ["runuser", "-u", PODMAN_USER, "--", "podman", "info"] if os.geteuid() == 0 else ["podman", "info"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    return None if done.returncode == 0 else f"rootless podman does not run: {done.stderr.strip()[-200:]}"


@pytest.fixture(scope="session")
def podman_runner_user():
    """The unprivileged user rootless Podman runs as (None when the tests are not root). Under CI
    a missing Podman fails the test instead of skipping it."""
    problem = _podman_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return PODMAN_USER if os.geteuid() == 0 else None


def load_into_podman(runner, names: list[str]) -> None:
    """Docker's images `names`, saved in one tarball (shared layers once) and loaded into Podman."""
    import subprocess
    import tempfile

    missing = [n for n in names if not runner.has_image(n)]
    if not missing:
        return
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / "images.tar"
        subprocess.run(["docker", "save", "-o", str(tarball), *missing], check=True)
        runner.ensure_image(image_id=missing[0], tarball=tarball)


# -- Slurm -------------------------------------------------------------------------------------------
def _slurm_problem() -> str | None:
    import subprocess

    try:
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Slurm here ({type(exc).__name__}); run scripts/slurm.sh"
    if not any(s.startswith(("idle", "mixed", "allocated")) for s in state.split()):
        return f"the Slurm node is not up ({state.strip() or 'no node'}); run scripts/slurm.sh"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    """The one-node Slurm cluster of scripts/slurm.sh. Under CI a missing one fails the test."""
    problem = _slurm_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
