"""Server commands never make a second, empty server by mistake: without --init they refuse an
ARENA_HOME that holds none, and they always say which ARENA_HOME and database they used."""

from __future__ import annotations

import json
import os

from helpers import arena, serve_arena


def home_env(home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    return {**env, "ARENA_HOME": str(home), "ARENA_RUNNER": "fake"}


def test_admin_refuses_a_home_without_a_server_and_makes_nothing(tmp_path):
    home = tmp_path / "typo"
    for args in (("admin", "create-organiser", "Org"), ("keys", "list"), ("db", "upgrade")):
        done = arena(home_env(home), *args, check=False)
        assert done.returncode == 1, args
        assert (
            f"no Arena server here: no database at sqlite:///{home}/arena.db; no master key at {home}/master.key"
            in done.stderr
        )
        assert "pass --init to set up a new server here" in done.stderr and "Traceback" not in done.stderr
    assert not home.exists()


def test_init_sets_up_a_server_and_every_command_says_which(tmp_path):
    home = tmp_path / "home"
    made = arena(home_env(home), "admin", "create-organiser", "First Org", "--init", "--json")
    assert f"set up a new server: ARENA_HOME={home}  database=sqlite:///{home}/arena.db" in made.stderr
    assert json.loads(made.stdout)["organiser"] == "First Org"
    again = arena(home_env(home), "admin", "create-organiser", "Second Org")
    assert f"ARENA_HOME={home}  database=sqlite:///{home}/arena.db" in again.stderr
    assert "set up a new server" not in again.stderr and again.stdout.startswith("arena_")
    keys = arena(home_env(home), "keys", "list", "--json")
    assert f"ARENA_HOME={home}" in keys.stderr and len(json.loads(keys.stdout)) == 1


def test_a_database_url_is_shown_without_its_password(tmp_path):
    env = {**home_env(tmp_path / "pg"), "ARENA_DATABASE_URL": "postgresql+psycopg://arena:s3cret@127.0.0.1:1/none"}
    done = arena(env, "admin", "create-organiser", "Org", check=False)
    assert done.returncode == 1 and "s3cret" not in done.stderr
    assert "cannot reach the database postgresql+psycopg://arena:***@127.0.0.1:1/none" in done.stderr


def test_serve_sets_up_a_fresh_home_and_tells_how_to_make_the_first_organiser(tmp_path):
    home = tmp_path / "served"
    home.mkdir()
    with serve_arena(home, extra_env={"ARENA_RUNNER": "fake"}, serve_args=("--no-worker",)) as env:
        made = arena(env, "admin", "create-organiser", "Org")
        assert made.stdout.startswith("arena_")
    log = (home / "serve.log").read_text()
    assert f"(ARENA_HOME={home}  database=sqlite:///{home}/arena.db)" in log
    assert f'ARENA_HOME={home} arena admin create-organiser "Your Organisation"' in log
