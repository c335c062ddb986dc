"""Both scoring-container examples end to end with nothing faked: `arena serve` and the CLI as
processes, the real Docker engine running the example models and the example scorer images,
real encryption, a real database. The organiser's `challenge create` uploads the scorer image;
teams submit; the board shows intervals (and slices); a round closes; `arena verify` checks the
export and names the scorer image."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from helpers import arena, serve_arena

from arena.timeutil import iso, utcnow

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "challenges"


@pytest.fixture(scope="module")
def server(docker_engine, tmp_path_factory):
    for name in ("coder", "code-scorer", "chat", "judge-scorer"):
        docker_engine.images.get(f"arena-example/{name}:latest")  # built by scripts/setup.sh
    with serve_arena(tmp_path_factory.mktemp("arena-home")) as env:
        yield env


def with_a_round(example: str, folder: Path) -> Path:
    """The example bundle, with one round open now and rewards to pay at its close."""
    shutil.copytree(EXAMPLES / example, folder)
    config = yaml.safe_load((folder / "challenge.yaml").read_text())
    now = utcnow()
    config.update(
        {
            "rounds": [
                {"name": "Only", "start": iso(now - timedelta(minutes=1)), "end": iso(now + timedelta(hours=1))}
            ],
            "rewards": {"rule": "rank_band_split", "shares": [0.6, 0.4], "euros": 1000, "gpu_hours": 10},
        }
    )
    (folder / "challenge.yaml").write_text(yaml.safe_dump(config))
    return folder


def setup(server, tmp_path, example: str, teams: tuple[str, ...]) -> tuple[str, dict]:
    organiser = json.loads(arena(server, "admin", "create-organiser", f"{example} org", "--json").stdout)["token"]
    made = json.loads(
        arena(
            server, "challenge", "create", str(with_a_round(example, tmp_path / example)), "--json", token=organiser
        ).stdout
    )
    assert made["slug"] == example
    tokens = {
        team: json.loads(arena(server, "team", "create", team, "--json", token=organiser).stdout)["token"]
        for team in teams
    }
    return organiser, tokens


def submit(server, slug: str, image: str, token: str) -> dict:
    done = json.loads(arena(server, "submit", slug, f"arena-example/{image}", "--wait", "--json", token=token).stdout)
    assert done["status"] == "scored", done
    return done


def close_and_verify(server, tmp_path, slug: str, organiser: str) -> dict:
    closed = json.loads(arena(server, "round", "close", slug, "--early", "--wait", "--json", token=organiser).stdout)
    assert closed["status"] == "closed"
    report = json.loads(arena(server, "rewards", slug, "--round", "1", "--json").stdout)["report"]
    export = tmp_path / f"{slug}-log.json"
    arena(server, "log", "export", slug, "--output", str(export))
    verified = arena(server, "verify", str(export))
    assert verified.stdout.startswith("scorer image: sha256:"), verified.stdout
    return {"report": report, "verify": verified.stdout}


def test_code_basics_is_scored_by_its_scorer_image_end_to_end(server, tmp_path):
    organiser, tokens = setup(server, tmp_path, "code-basics", ("Coders", "Copycats"))
    first = submit(server, "code-basics", "coder", tokens["Coders"])
    submit(server, "code-basics", "coder", tokens["Copycats"])
    assert 0.8 <= first["score"] <= 0.95  # 321 of 360 items pass every test; this is the public half

    board = json.loads(arena(server, "leaderboard", "code-basics", "--json").stdout)
    assert (board["metric"], board["secondary_metrics"]) == ("pass_rate", ["tests_passed"])
    for entry in board["entries"]:
        assert entry["ci_low"] < entry["score"] < entry["ci_high"]
        assert set(entry["slices"]) == {"numbers", "strings", "lists"}
        assert entry["slices"]["numbers"]["score"] == 1.0  # the coder gets every numbers task right
        assert entry["slices"]["lists"]["ci_low"] < entry["slices"]["lists"]["score"]
    shown = arena(server, "leaderboard", "code-basics").stdout
    assert "slice strings" in shown and "[0." in shown

    scorer_log = json.loads(
        arena(server, "logs", first["id"], "--reason", "checking the scorer's output", "--json", token=organiser).stdout
    )
    assert scorer_log["scorer_log"].startswith("code-scorer: 360 items")
    refused = arena(server, "logs", first["id"], "--scorer", token=tokens["Coders"], check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr

    again = json.loads(
        arena(
            server, "challenge", "set-scorer", "code-basics", "arena-example/code-scorer", "--json", token=organiser
        ).stdout
    )
    assert again["scorer_image"].startswith("sha256:")
    done = close_and_verify(server, tmp_path, "code-basics", organiser)
    teams = {t["team"]: t for t in done["report"]["teams"]}
    assert set(teams["Coders"]["slices"]) == {"numbers", "strings", "lists"}
    assert sum(s["cents"] for s in done["report"]["standings"]) == 100_000  # a tie: the pool is shared
    assert f"scorer image: {again['scorer_image']}" in done["verify"] and "slice lists of Coders" in done["verify"]


def test_chat_judge_grades_the_chat_models_answers_end_to_end(server, tmp_path):
    organiser, tokens = setup(server, tmp_path, "chat-judge", ("Chatters",))
    done = submit(server, "chat-judge", "chat", tokens["Chatters"])
    assert 0.5 <= done["score"] <= 1.0

    board = json.loads(arena(server, "leaderboard", "chat-judge", "--json").stdout)
    entry = board["entries"][0]
    assert board["metric"] == "judged" and entry["team"] == "Chatters"
    assert entry["ci_low"] <= entry["score"] <= entry["ci_high"]
    if entry["score"] < 1.0:  # the secret split may leave all the model's misses private
        assert entry["ci_low"] < entry["ci_high"]
    assert set(entry["secondary"]) == {"contains_reference"}
    closed = close_and_verify(server, tmp_path, "chat-judge", organiser)
    assert [s["team"] for s in closed["report"]["standings"]] == ["Chatters"]
