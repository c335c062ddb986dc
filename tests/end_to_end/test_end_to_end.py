"""The whole path with nothing faked: `arena serve` as a process, the CLI as processes, the real
Docker engine, the example images, real encryption and a real SQLite database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from helpers import arena, free_port, serve_arena

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "examples" / "challenges" / "gpu-faults"


@pytest.fixture(scope="module")
def server(docker_engine, tmp_path_factory):
    for name in ("good", "weak", "broken"):
        docker_engine.images.get(f"arena-example/{name}:latest")  # built by scripts/setup.sh
    with serve_arena(tmp_path_factory.mktemp("arena-home")) as env:
        yield env


def test_the_walking_skeleton(server):
    organiser = json.loads(arena(server, "admin", "create-organiser", "Demo Organiser", "--json").stdout)
    made = json.loads(arena(server, "challenge", "create", str(BUNDLE), "--json", token=organiser["token"]).stdout)
    assert made["slug"] == "gpu-faults" and made["n_items"] == 500

    tokens = {}
    for team, factories in (
        ("Good", ["LUMI AI Factory"]),
        ("Weak", ["MareNostrum", "IT4LIA"]),
        ("Broken", ["Broken Bytes"]),
    ):
        args = [a for f in factories for a in ("--factory", f)]
        tokens[team] = json.loads(
            arena(server, "team", "create", team, *args, "--json", token=organiser["token"]).stdout
        )["token"]

    results = {}
    for team, image in (("Good", "good"), ("Weak", "weak"), ("Broken", "broken")):
        done = arena(
            server,
            "submit",
            "gpu-faults",
            f"arena-example/{image}",
            "--wait",
            "--json",
            token=tokens[team],
            check=False,
        )
        assert done.returncode == (1 if team == "Broken" else 0), done.stderr
        assert "Traceback" not in done.stderr
        results[team] = json.loads(done.stdout)

    assert results["Good"]["status"] == "scored" and results["Weak"]["status"] == "scored"
    assert 0.85 <= results["Good"]["score"] <= 1.0  # the public split (30% of the items) of 0.952
    assert results["Good"]["released"] is True
    assert results["Weak"]["score"] < results["Good"]["score"]
    broken = results["Broken"]
    assert (broken["status"], broken["failure_reason"]) == ("failed", "invalid_output")
    assert broken["failure_detail"] == "400 of 500 items have no prediction"

    board = json.loads(arena(server, "leaderboard", "gpu-faults", "--json").stdout)
    assert (board["challenge"], board["metric"], board["higher_is_better"]) == ("gpu-faults", "accuracy", True)
    assert [(e["rank"], e["team"], e["submission_id"]) for e in board["entries"]] == [
        (1, "Good", results["Good"]["id"]),
        (2, "Weak", results["Weak"]["id"]),
    ]

    status = json.loads(arena(server, "status", broken["id"], "--json", token=tokens["Broken"]).stdout)
    assert status["failure_reason"] == "invalid_output"
    peek = arena(server, "status", broken["id"], token=tokens["Good"], check=False)
    assert peek.returncode == 1 and "no submission" in peek.stderr

    hidden_log = arena(server, "logs", results["Good"]["id"], token=tokens["Good"], check=False)
    assert hidden_log.returncode == 1 and "never shown to teams" in hidden_log.stderr
    unexplained = arena(server, "logs", results["Good"]["id"], token=organiser["token"], check=False)
    assert unexplained.returncode == 1 and "--reason" in unexplained.stderr
    organiser_log = json.loads(
        arena(
            server,
            "logs",
            results["Good"]["id"],
            "--reason",
            "checking the skeleton run",
            "--json",
            token=organiser["token"],
        ).stdout
    )
    assert organiser_log["log"].startswith("good model: 500 items")
    told = arena(server, "status", results["Good"]["id"], token=tokens["Good"]).stdout
    assert "its log was read" in told and "by Demo Organiser: checking the skeleton run" in told

    debug = json.loads(
        arena(
            server,
            "submit",
            "gpu-faults",
            "arena-example/broken",
            "--sample",
            "--wait",
            "--json",
            token=tokens["Broken"],
        ).stdout
    )
    assert (debug["kind"], debug["status"]) == ("sample", "scored")
    shown = arena(
        server,
        "logs",
        debug["id"],
        "--predictions",
        str(Path(server["ARENA_HOME"]) / "p.jsonl"),
        token=tokens["Broken"],
    )
    assert "broken model: stopped after 100 items" in shown.stdout
    assert len((Path(server["ARENA_HOME"]) / "p.jsonl").read_text().splitlines()) == 20
    board_after = json.loads(arena(server, "leaderboard", "gpu-faults", "--json").stdout)
    assert [e["team"] for e in board_after["entries"]] == ["Good", "Weak"]

    exported = Path(server["ARENA_HOME"]) / "log.json"
    arena(server, "log", "export", "gpu-faults", "-o", str(exported))
    verified = arena(server, "verify", str(exported))
    assert (
        verified.stdout.startswith("OK:") and "leaderboard is exactly what the logged results imply" in verified.stdout
    )
    assert all(e["ci_low"] <= e["score"] <= e["ci_high"] for e in board_after["entries"])

    page = requests.get(f"{server['ARENA_URL']}/challenges/gpu-faults", timeout=10).text
    assert "Good" in page and "Weak" in page and "Broken" not in page
    browser = requests.Session()  # the sign-in form: its CSRF token, then the team's token
    form = browser.get(f"{server['ARENA_URL']}/sign-in?role=team", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    team_view = browser.post(
        f"{server['ARENA_URL']}/sign-in", data={"csrf": csrf, "role": "team", "token": tokens["Broken"]}, timeout=10
    ).text
    assert "invalid_output" in team_view and "400 of 500 items have no prediction" in team_view


def test_cli_errors_are_one_clear_line(server):
    organiser = json.loads(arena(server, "admin", "create-organiser", "Second Organiser", "--json").stdout)
    team = json.loads(arena(server, "team", "create", "Errors", "--json", token=organiser["token"]).stdout)

    missing = arena(server, "submit", "gpu-faults", "arena-example/does-not-exist", token=team["token"], check=False)
    assert missing.returncode == 1
    assert "is not in the local Docker engine" in missing.stderr and "Traceback" not in missing.stderr

    wrong = arena(server, "submit", "gpu-faults", "arena-example/good", token="arena_wrong", check=False)
    assert wrong.returncode == 1 and "token is not valid" in wrong.stderr

    unreachable = arena({**server, "ARENA_URL": f"http://127.0.0.1:{free_port()}"}, "leaderboard", "x", check=False)
    assert unreachable.returncode == 1 and "cannot reach Arena" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
