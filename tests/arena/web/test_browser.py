"""The three journeys in a real browser (Debian's Chromium, headless, driven by Playwright) against
`arena serve` with the real engine: a visitor reads a leaderboard and a round's awards; a team
signs in and finds its failed submission's reason; an organiser uploads a bundle with an error,
fixes it, creates the challenge and closes a round. axe-core checks the pages for accessibility.
With ARENA_SCREENSHOTS=DIR the main pages are saved there (scripts/screenshots.sh)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import arena, serve_arena

pytestmark = [pytest.mark.docker, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "examples" / "challenges" / "gpu-faults"
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("ARENA_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("ARENA_SCREENSHOTS")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    problem = (
        None
        if Path(CHROMIUM).exists() and AXE.exists()
        else f"needs {CHROMIUM} and {AXE}: run ARENA_SETUP_SERVICES=browser scripts/setup.sh"
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "needs the playwright package (pip install -e '.[test]')"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def rounds_bundle(folder: Path) -> Path:
    from datetime import timedelta

    from arena.timeutil import iso, utcnow

    shutil.copytree(BUNDLE, folder)
    config = yaml.safe_load((folder / "challenge.yaml").read_text())
    now = utcnow()
    config.update(
        {
            "rounds": [
                {"name": "Winter", "start": iso(now - timedelta(minutes=1)), "end": iso(now + timedelta(hours=1))},
                {"name": "Spring", "end": iso(now + timedelta(hours=2))},
            ],
            "kpi": {"baseline": {"score": 0.86}, "eliminate_after": 2},
            "rewards": {"rule": "rank_band_split", "shares": [0.6, 0.4], "euros": 10000, "gpu_hours": 100},
        }
    )
    (folder / "challenge.yaml").write_text(yaml.safe_dump(config))
    return folder


@pytest.fixture(scope="module")
def site(docker_engine, tmp_path_factory):
    home = tmp_path_factory.mktemp("web-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "EuroHPC Organiser", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(rounds_bundle(home / "bundle")), token=organiser)
        tokens = {}
        for team, factories, model in (
            ("Thermal Alliance", ["LUMI AI Factory:0.6", "IT4LIA AI Factory:0.4"], "good"),
            ("Fan Watchers", ["MareNostrum AI Factory"], "fair"),
            ("Broken Bytes", ["Leonardo AI Factory"], "broken"),
        ):
            args = [a for f in factories for a in ("--factory", f)]
            tokens[team] = json.loads(arena(env, "team", "create", team, *args, "--json", token=organiser).stdout)[
                "token"
            ]
            arena(env, "submit", "gpu-faults", f"arena-example/{model}", "--wait", token=tokens[team], check=False)
        arena(env, "round", "close", "gpu-faults", "--early", "--wait", token=organiser)
        yield {**env, "organiser": organiser, "teams": tokens, "home": home}


def _page(browser):
    """A page that records what the Content-Security-Policy refuses (securitypolicyviolation)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script("""window.__cspRefused = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__cspRefused.push(e.violatedDirective + ' ' + e.blockedURI));""")
    return page


def check_accessibility(page) -> None:
    """axe-core on the page, injected over the DevTools protocol: the page's own
    Content-Security-Policy (script-src 'self') stays in force and would refuse an inline script;
    and no part of the page itself may have been refused by that policy."""
    refused = page.evaluate("() => window.__cspRefused || []")
    assert refused == [], f"{page.url}: the Content-Security-Policy refused {refused}"
    page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}))
        .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ') + ')')""")
    assert found == [], f"{page.url}: {found}"


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_a_visitor_reads_the_leaderboard_and_a_rounds_awards(site, browser):
    page = _page(browser)
    page.goto(site["ARENA_URL"] + "/")
    check_accessibility(page)
    shot(page, "challenges")
    page.get_by_role("link", name="GPU fault detection from telemetry").click()
    board = page.get_by_role("table").filter(has_text="public leaderboard")
    assert board.get_by_role("img").count() >= 2  # a whisker per entry
    assert "Thermal Alliance" in board.inner_text() and "LUMI AI Factory" in board.inner_text()
    check_accessibility(page)
    shot(page, "leaderboard")
    page.get_by_role("link", name="results and awards").first.click()
    awards = page.get_by_role("table").first.inner_text()
    assert "Thermal Alliance" in awards and "LUMI AI Factory (60%)" in awards and "EUR" in awards
    check_accessibility(page)
    shot(page, "round-awards")
    for path in ("/challenges/gpu-faults/embed", "/challenges/gpu-faults/teams/Thermal%20Alliance", "/log"):
        page.goto(site["ARENA_URL"] + path)
        check_accessibility(page)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(site["ARENA_URL"] + "/challenges/gpu-faults")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, "leaderboard-phone")


def test_a_team_signs_in_and_finds_why_its_submission_failed(site, browser):
    page = _page(browser)
    page.goto(site["ARENA_URL"] + "/")
    page.get_by_role("link", name="Team sign-in").click()
    page.get_by_label("Token").fill(site["teams"]["Broken Bytes"])
    page.get_by_role("button", name="Sign in").click()
    text = page.get_by_role("main").inner_text()
    assert "Broken Bytes" in text and "invalid_output" in text and "400 of 500 items have no prediction" in text
    assert site["teams"]["Broken Bytes"] not in page.content()
    check_accessibility(page)
    shot(page, "team-dashboard")
    page.keyboard.press("Tab")  # the skip link comes first, for keyboard users
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to the content"


def test_an_organiser_fixes_a_bundle_creates_a_challenge_and_closes_a_round(site, browser, tmp_path):
    page = _page(browser)
    page.goto(site["ARENA_URL"] + "/sign-in?role=organiser")
    page.get_by_label("Token").fill(site["organiser"])
    page.get_by_role("button", name="Sign in").click()
    assert "Console" in page.get_by_role("heading", level=1).inner_text()
    check_accessibility(page)
    shot(page, "console")

    bundle = tmp_path / "b"
    shutil.copytree(BUNDLE, bundle)
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config["slug"] = "gpu-faults-2"
    config["title"] += ", second edition"  # titles that look alike are refused
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    good_labels = (bundle / "labels.jsonl").read_text()
    (bundle / "labels.jsonl").write_text(good_labels.replace('"label": "ok"', '"label": ok', 1))
    page.get_by_role("link", name="Create a challenge from a bundle").click()

    def upload():
        page.get_by_label("challenge.yaml").set_input_files(str(bundle / "challenge.yaml"))
        page.get_by_label("inputs.jsonl", exact=True).set_input_files(str(bundle / "inputs.jsonl"))
        page.get_by_label("labels.jsonl", exact=True).set_input_files(str(bundle / "labels.jsonl"))
        page.get_by_role("button", name="Check and create").click()

    upload()
    error = page.get_by_role("alert").inner_text()
    assert "labels.jsonl line 2" in error and "not valid JSON" in error
    check_accessibility(page)
    (bundle / "labels.jsonl").write_text(good_labels)
    upload()
    assert "Created gpu-faults-2" in page.get_by_role("status").inner_text()

    page.goto(site["ARENA_URL"] + "/console")
    page.get_by_role("link", name="Preview and close").first.click()
    assert "Confirm: close Spring" in page.content()
    check_accessibility(page)
    shot(page, "close-preview")
    page.get_by_role("button", name="Confirm: close Spring").click()
    assert "Spring: results and awards" in page.get_by_role("heading", level=1).inner_text()


def test_an_organiser_reads_a_hidden_log_with_a_reason_and_the_team_is_told(site, browser):
    found = json.loads(requests_get(site, "/api/submissions?challenge=gpu-faults", site["organiser"]))
    broken = [s for s in found["submissions"] if s["team"] == "Broken Bytes" and s["kind"] == "hidden"][0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site["ARENA_URL"] + "/sign-in?role=organiser")
    page.get_by_label("Token").fill(site["organiser"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(site["ARENA_URL"] + f"/console/submissions/{broken['id']}")
    assert "broken model" not in page.content()
    check_accessibility(page)
    page.get_by_label("Why you read it").fill("the team asked why its run failed")
    page.get_by_role("button", name="Read the log").click()
    assert "broken model: stopped after 100 items" in page.content()
    check_accessibility(page)

    team = browser.new_page(viewport={"width": 1280, "height": 900})
    team.goto(site["ARENA_URL"] + "/sign-in?role=team")
    team.get_by_label("Token").fill(site["teams"]["Broken Bytes"])
    team.get_by_role("button", name="Sign in").click()
    reads = team.get_by_role("table").filter(has_text="Read by").inner_text()
    assert "EuroHPC Organiser" in reads and "the team asked why its run failed" in reads
    check_accessibility(team)


def requests_get(site, path: str, token: str) -> str:
    import requests

    return requests.get(site["ARENA_URL"] + path, headers={"Authorization": f"Bearer {token}"}, timeout=10).text
