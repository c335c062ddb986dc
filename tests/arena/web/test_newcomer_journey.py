"""The first hour, and the second year (issue 21): a new organiser and a new team go through
the README and docs/ with the CLI and the pages (headless Chromium) against `arena serve` and the
real engine: an own challenge from the quickstart bundle with a sample, a secondary metric, a
round with a KPI and a pool, an alliance, a silent and a broken model, an early close, rewards,
a round appended while the programme runs, log export and verify. Each step checks that one of
the problems found when this was first tried is gone (numbered as in the issue; its problem 9,
the receipt kept by `submit --wait`, is another issue's)."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from conftest import BASE_IMAGE
from helpers import arena, serve_arena
from test_browser import browser, check_accessibility  # noqa: F401 - the module's Chromium

from arena.timeutil import iso, utcnow
from sandbox import build_image

pytestmark = [pytest.mark.docker, pytest.mark.browser]
QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "challenges" / "quickstart"
SLUG = "my-first-challenge"


@pytest.fixture(scope="module")
def silent_crash(docker_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("silent")
    (folder / "Dockerfile").write_text(f'FROM {BASE_IMAGE}\nENTRYPOINT ["python3", "-c", "raise SystemExit(3)"]\n')
    build_image(folder, tag="arena-test/silent-crash:latest")
    return "arena-test/silent-crash"


def bundle(folder: Path, **changes) -> Path:
    """The quickstart bundle as shipped, its round moved to now (the shipped dates are examples)."""
    shutil.copytree(QUICKSTART, folder)
    config = yaml.safe_load((folder / "challenge.yaml").read_text())
    now = utcnow()
    config["rounds"][0].update(start=iso(now - timedelta(minutes=1)), end=iso(now + timedelta(hours=1)))
    config.update(daily_quota=4, **changes)
    (folder / "challenge.yaml").write_text(yaml.safe_dump(config))
    return folder


def text_of(page) -> str:
    return " ".join(page.get_by_role("main").inner_text().split())


def test_the_newcomer_journey_finds_none_of_the_problems(
    docker_engine,
    browser,
    silent_crash,  # noqa: F811
    tmp_path,
):
    # 1. A server command run without the server's ARENA_HOME makes nothing and says so.
    lost = tmp_path / "not-the-server"
    stray = arena({**os.environ, "ARENA_HOME": str(lost)}, "admin", "create-organiser", "Lost Org", check=False)
    assert stray.returncode == 1 and "no Arena server here" in stray.stderr and not lost.exists()

    home = tmp_path / "home"
    home.mkdir()
    with serve_arena(home) as env:
        assert "arena admin create-organiser" in (home / "serve.log").read_text()  # serve tells how
        made = arena(env, "admin", "create-organiser", "Ticket Org", "--json")
        assert f"ARENA_HOME={home}" in made.stderr
        organiser = json.loads(made.stdout)["token"]
        organiser_journey(env, organiser, tmp_path)
        team = team_journey(env, organiser, silent_crash, tmp_path)
        pages_journey(env, browser, organiser, team)
        programme_journey(env, organiser, team, tmp_path)


def organiser_journey(env: dict, organiser: str, tmp_path: Path) -> None:
    # 8. A value of the wrong shape is shown the right one.
    wrong = bundle(tmp_path / "wrong", kpi={"baseline": 0.6})
    refused = arena(env, "challenge", "create", str(wrong), token=organiser, check=False)
    assert "kpi.baseline must be a mapping such as {score: 0.6} or {team: NAME}" in refused.stderr
    assert arena(env, "challenge", "create", str(bundle(tmp_path / "b")), token=organiser).stdout.strip() == SLUG
    # 3. The challenge page shows every rule, the secondary metric before anyone has a score.
    page = arena_page(env, f"/challenges/{SLUG}")
    for shown in (
        "also shown: macro_f1",
        "Processes",
        "64",
        "at most 2 submissions per team",
        "open: any team takes part",
        "your model's own failures (timeout, crash, invalid output…) do",
        "200 GPU-hours",
        "arena try my-first-challenge IMAGE",
    ):
        assert shown in page, shown


def arena_page(env: dict, path: str) -> str:
    import re

    import requests

    html = requests.get(env["ARENA_URL"] + path, timeout=30).text
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def team_journey(env: dict, organiser: str, silent_crash: str, tmp_path: Path) -> str:
    team = json.loads(
        arena(
            env,
            "team",
            "create",
            "Triage Alliance",
            "--factory",
            "LUMI AI Factory:2",
            "--factory",
            "IT4LIA AI Factory:1",
            "--json",
            token=organiser,
        ).stdout
    )["token"]
    assert "66.67%" in arena(env, "team", "list", token=organiser).stdout  # 6. organisers list teams
    arena(env, "challenge", "register", SLUG, token=team)
    # 8. The team count is right as soon as a team registers.
    assert json.loads(arena(env, "challenge", "list", "--json").stdout)[0]["teams"] == 1
    # 4. The sample comes as /input: task.json, inputs, no labels; `arena try` does the whole local run.
    arena(env, "challenge", "get-sample", SLUG, str(tmp_path / "input"))
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == ["inputs.jsonl", "task.json"]
    tried = json.loads(arena(env, "try", SLUG, "arena-example/good", "--json").stdout)
    assert tried["status"] == "scored" and tried["secondary"]["macro_f1"]["score"] > 0.5
    silent = arena(env, "try", SLUG, silent_crash, check=False)
    assert silent.returncode == 1 and "failed  crashed" in silent.stdout
    # 7. `arena logs` of a failed run that printed nothing gives the reason.
    failed = json.loads(
        arena(env, "submit", SLUG, silent_crash, "--sample", "--wait", "--json", token=team, check=False).stdout
    )
    logs = arena(env, "logs", failed["id"], token=team).stdout
    assert "(the container printed nothing)" in logs and "failed: crashed: the container exited with code 3" in logs
    # 6. A sample run's status shows the secondary scores.
    sample = json.loads(
        arena(env, "submit", SLUG, "arena-example/good", "--sample", "--wait", "--json", token=team).stdout
    )
    status = json.loads(arena(env, "status", sample["id"], "--json", token=team).stdout)
    assert status["secondary"]["macro_f1"]["score"] == pytest.approx(tried["secondary"]["macro_f1"]["score"])
    good = json.loads(arena(env, "submit", SLUG, "arena-example/good", "--wait", "--json", token=team).stdout)
    broken = json.loads(
        arena(env, "submit", SLUG, "arena-example/broken", "--wait", "--json", token=team, check=False).stdout
    )
    assert (good["status"], broken["failure_detail"]) == ("scored", "200 of 300 items have no prediction")
    # 6. The team lists its runs, with receipts and the quota left.
    runs = json.loads(arena(env, "submissions", SLUG, "--json", token=team).stdout)
    assert len(runs["submissions"]) == 4
    assert all((r["receipt_entry"] is not None) == (r["kind"] == "hidden") for r in runs["submissions"])
    assert {(q["kind"], q["left"]) for q in runs["quotas"]} == {("hidden", 2), ("sample", 2)}
    assert "macro_f1" in arena(env, "submissions", SLUG, token=team).stdout
    return team


def pages_journey(env: dict, browser, organiser: str, team: str) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(env["ARENA_URL"] + "/sign-in")
    page.get_by_label("Token").fill(team)
    page.get_by_role("button", name="Sign in").click()
    # 7. A failed row paints its reason, not the "Run on" cell.
    row = page.locator("tr.status-failed").filter(has_text="hidden set").first
    colour = "el => getComputedStyle(el).color"
    assert row.locator("td").nth(2).evaluate(colour) == row.locator("td").nth(1).evaluate(colour)
    assert row.locator("td.why").evaluate(colour) != row.locator("td").nth(2).evaluate(colour)
    assert "200 of 300 items have no prediction" in row.inner_text()
    check_accessibility(page)

    arena(env, "round", "close", SLUG, "--early", "--wait", token=organiser)
    page.goto(env["ARENA_URL"] + "/sign-in?role=organiser")
    page.get_by_label("Token").fill(organiser)
    page.get_by_role("button", name="Sign in").click()
    # 7. After an early close the console shows when it stopped and closed; failures say where they ran.
    rounds = page.locator("section.card table").filter(has_text="Round 1").first.inner_text()
    assert "stopped early" in rounds and "planned end" in rounds
    failures = page.locator("#failures + div table").inner_text()
    assert "sample set (debug)" in failures and "hidden set" in failures
    check_accessibility(page)
    # 5. Shares in percent, GPU time in GPU-hours, on the round's page and in `arena rewards`.
    page.goto(env["ARENA_URL"] + f"/challenges/{SLUG}/rounds/1")
    awards = text_of(page)
    assert "LUMI AI Factory (66.67%)" in awards and "200 GPU-hours" in awards and "0.6666" not in awards
    check_accessibility(page)
    rewards = arena(env, "rewards", SLUG).stdout
    assert "LUMI AI Factory (66.67%)" in rewards and "GPU-hours" in rewards and "GPU-min" not in rewards


def programme_journey(env: dict, organiser: str, team: str, tmp_path: Path) -> None:
    # 2. With no round open, `arena submit` stops before `docker save` with the server's reason.
    early = arena(env, "submit", SLUG, "arena-example/good", token=team, check=False)
    assert early.returncode == 1 and "not submitted: no round of my-first-challenge is open now" in early.stderr
    assert "exporting" not in early.stderr
    # 10. The programme goes on: a round appended while it runs pays and verifies like the first.
    spring = tmp_path / "spring.yaml"
    spring.write_text(
        yaml.safe_dump(
            {
                "rounds": [{"name": "Spring", "end": iso(utcnow() + timedelta(hours=1))}],
                "rewards": {"rule": "winner_take_all", "euros": 2000, "gpu_hours": 1.5},
            }
        )
    )
    assert "Spring" in arena(env, "round", "add", SLUG, str(spring), token=organiser).stdout
    time.sleep(1.5)  # it opens a second after its addition is logged
    assert (
        json.loads(arena(env, "submit", SLUG, "arena-example/good", "--wait", "--json", token=team).stdout)["status"]
        == "scored"
    )
    arena(env, "round", "close", SLUG, "--early", "--wait", token=organiser)
    report = json.loads(arena(env, "rewards", SLUG, "--round", "2", "--json").stdout)["report"]
    assert report["totals"] == {"cents": 200_000, "gpu_minutes": 90}
    assert "1 GPU-hour 30 min" in arena(env, "rewards", SLUG, "--round", "2").stdout
    arena(env, "log", "export", SLUG, "-o", str(tmp_path / "log.json"))
    verified = json.loads(arena(env, "verify", str(tmp_path / "log.json"), "--json").stdout)
    assert verified["ok"] and verified["round_reports"] == 2
