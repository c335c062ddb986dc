"""Production mode end to end: PostgreSQL, the API under gunicorn with several processes, and two
evaluation workers as separate processes, with the real Docker engine and the example models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import arena, serve_arena

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

BUNDLE = Path(__file__).resolve().parents[2] / "examples" / "challenges" / "gpu-faults"


def test_gunicorn_postgresql_and_separate_workers(docker_engine, postgres_database, tmp_path):
    env = {"ARENA_DATABASE_URL": postgres_database, "ARENA_EMBEDDED_WORKER": "0"}
    (tmp_path / "home").mkdir()
    with serve_arena(tmp_path / "home", env, serve_args=("--workers", "3"), workers=2) as server:
        served = (tmp_path / "home" / "serve.log").read_text()
        assert "with 3 gunicorn workers" in served
        organiser = json.loads(arena(server, "admin", "create-organiser", "Prod", "--json").stdout)["token"]
        arena(server, "challenge", "create", str(BUNDLE), token=organiser)
        tokens = {
            team: json.loads(arena(server, "team", "create", team, "--json", token=organiser).stdout)["token"]
            for team in ("Good", "Weak")
        }
        for team, model in (("Good", "good"), ("Weak", "weak")):
            done = json.loads(
                arena(
                    server, "submit", "gpu-faults", f"arena-example/{model}", "--wait", "--json", token=tokens[team]
                ).stdout
            )
            assert done["status"] == "scored"
        board = json.loads(arena(server, "leaderboard", "gpu-faults", "--json").stdout)
        assert [e["team"] for e in board["entries"]] == ["Good", "Weak"]
        arena(server, "log", "export", "gpu-faults", "-o", str(tmp_path / "log.json"))
        assert json.loads(arena(server, "verify", str(tmp_path / "log.json"), "--json").stdout)["ok"]
    log = (tmp_path / "home" / "serve.log").read_text()
    assert log.count("Booting worker") == 3 and "Traceback" not in log
    assert log.count("worker arena-") >= 2 or log.count("started (capacity") == 2
