"""The pages, through Flask's test client: sign-in sessions with CSRF, the team dashboard, the
organiser console (create from a bundle, preview and close a round, re-admit), public pages."""

from __future__ import annotations

import io

from conftest import csrf_of, web_sign_in
from test_rounds import World, fake_runner, rules  # noqa: F401 - fake_runner: the scripted models

from arena.services import accounts, rounds


def test_a_team_signs_in_and_sees_its_quota_submissions_receipts_and_failure(client, platform, tmp_path):
    world = World(platform, platform.runner, tmp_path)
    world.challenge()
    world.team("Alpha", ["LUMI"])
    token = accounts.create_token(platform, actor=world.teams["Alpha"], label="web")[1]
    world.submit("Alpha", None)
    page = web_sign_in(client, token).get_data(as_text=True)
    assert "Runs left today" in page and "4 of 5" in page and "log entry" in page
    assert "Select" in page and token not in page
    # The session holds no token; a form without its CSRF token is refused; sign-out ends it.
    assert token not in (client.get_cookie("arena_session").value or "")
    refused = client.post("/sign-out", data={})
    assert refused.status_code == 400 and "reload the page" in refused.get_data(as_text=True)
    client.post("/sign-out", data={"csrf": csrf_of(client, "/team")})
    assert client.get("/team").status_code == 302


def test_revoking_the_token_ends_the_session(client, platform):
    team, _ = accounts.create_team(platform, name="Solo", factories=["F"])
    view, token = accounts.create_token(platform, actor=team, label="web")
    web_sign_in(client, token)
    assert client.get("/team").status_code == 200
    accounts.revoke_token(platform, actor=team, token_id=view["id"])
    assert client.get("/team").status_code == 302


def test_an_organiser_creates_a_challenge_fixes_an_error_previews_and_closes_a_round(client, platform, tmp_path):
    world = World(platform, platform.runner, tmp_path)
    token = accounts.create_token(platform, actor=world.organiser, label="web")[1]
    assert "Console" in web_sign_in(client, token, role="organiser").get_data(as_text=True)
    bundle = world.tmp_path / "bundle"
    from helpers import make_bundle

    make_bundle(bundle, n=40, extra=rules())
    files = {name: (bundle / name).read_bytes() for name in ("challenge.yaml", "inputs.jsonl", "labels.jsonl")}
    broken = files["labels.jsonl"].replace(b'"label": "odd"', b'"label": odd', 1)

    def post(labels: bytes):
        return client.post(
            "/console/challenges/new",
            content_type="multipart/form-data",
            data={
                "csrf": csrf_of(client, "/console/challenges/new"),
                "challenge_yaml": (io.BytesIO(files["challenge.yaml"]), "challenge.yaml"),
                "inputs": (io.BytesIO(files["inputs.jsonl"]), "inputs.jsonl"),
                "labels": (io.BytesIO(labels), "labels.jsonl"),
            },
        )

    failed = post(broken)
    assert failed.status_code == 400 and "labels.jsonl line 2: not valid JSON" in failed.get_data(as_text=True)
    made = post(files["labels.jsonl"])
    assert made.status_code == 201 and "Created" in made.get_data(as_text=True)
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", None)
    preview = client.get("/console/challenges/toy/close").get_data(as_text=True)
    assert "Confirm: close Round 1" in preview and "10000.00" in preview and "early close" in preview
    assert rounds.list_rounds(platform, slug="toy")["rounds"][0]["status"] == "open"  # nothing written
    closed = client.post(
        "/console/challenges/toy/close",
        data={"csrf": csrf_of(client, "/console/challenges/toy/close"), "early": "true"},
    )
    assert closed.status_code == 302 and closed.location.endswith("/challenges/toy/rounds/1")
    assert "10000.00" in client.get("/challenges/toy/rounds/1").get_data(as_text=True)


def test_public_pages_embed_history_and_log(client, platform, tmp_path):
    world = World(platform, platform.runner, tmp_path)
    world.challenge()
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", 10)
    world.submit("Alpha", None)
    index = client.get("/").get_data(as_text=True)
    assert "Round 1" in index and "open" in index
    board = client.get("/challenges/toy").get_data(as_text=True)
    assert "stroke-dasharray" in board and "the dashed line is the KPI baseline" in board  # the baseline
    embed = client.get("/challenges/toy/embed").get_data(as_text=True)
    assert "<nav" not in embed and "Alpha" in embed
    history = client.get("/challenges/toy/teams/Alpha").get_data(as_text=True)
    assert "<polyline" in history and "Best released public score" in history
    log = client.get("/log").get_data(as_text=True)
    assert "submission.receipt" in log and "arena verify" in log
    for page in (index, board, embed, history, log):
        assert "http://" not in page.replace(platform.settings.public_url, "")  # nothing fetched from outside


def test_the_remembered_board_follows_the_log(platform, tmp_path):
    from arena.services import leaderboard

    world = World(platform, platform.runner, tmp_path)
    world.challenge()
    world.team("Alpha", ["LUMI"])
    world.team("Beta", ["IT4LIA"])
    world.submit("Alpha", 10)
    first = leaderboard.leaderboard(platform, slug="toy")
    first["entries"].clear()  # a caller changing its copy changes nothing remembered
    assert [e["team"] for e in leaderboard.leaderboard(platform, slug="toy")["entries"]] == ["Alpha"]
    world.submit("Beta", None)
    assert [e["team"] for e in leaderboard.leaderboard(platform, slug="toy")["entries"]] == ["Beta", "Alpha"]


def test_an_organiser_makes_and_revokes_a_token_in_the_console(client, platform):
    organiser, token = accounts.create_organiser(platform, name="Org")
    team, _ = accounts.create_team(platform, name="Beta", factories=["F"], actor=organiser)
    web_sign_in(client, token, role="organiser")
    page = client.post(
        "/console/tokens",
        data={
            "csrf": csrf_of(client, "/console/tokens"),
            "team_id": str(team.id),
            "label": "for the web",
            "days": "30",
        },
    ).get_data(as_text=True)
    assert "shown this once" in page and "for the web" in page
    made = page.split('shown this once (copy it now): <code class="wrap">')[1].split("<")[0]
    assert accounts.authenticate(platform, token=made).name == "Beta"
    view = [t for t in accounts.list_tokens(platform, actor=organiser) if t["label"] == "for the web"][0]
    client.post("/console/tokens", data={"csrf": csrf_of(client, "/console/tokens"), "revoke": str(view["id"])})
    bad = client.post("/console/tokens", data={"csrf": csrf_of(client, "/console/tokens"), "days": "x"})
    assert "whole numbers" in bad.get_data(as_text=True)
    import pytest

    from arena.errors import Unauthorized

    with pytest.raises(Unauthorized, match="not valid"):
        accounts.authenticate(platform, token=made)


def test_a_board_with_secondary_metrics_ranks_by_the_primary_and_shows_all(client, platform, tmp_path):
    from arena.services import leaderboard

    world = World(platform, platform.runner, tmp_path)
    world.challenge(secondary_metrics=["macro_f1", "exact_match"])
    world.team("Alpha", ["LUMI"])
    world.team("Beta", ["IT4LIA"])
    world.submit("Alpha", 10)
    world.submit("Beta", None)
    board = leaderboard.leaderboard(platform, slug="toy")
    assert board["secondary_metrics"] == ["macro_f1", "exact_match"]
    assert [e["team"] for e in board["entries"]] == ["Beta", "Alpha"]  # by the primary metric
    beta = board["entries"][0]["secondary"]
    assert beta["macro_f1"]["score"] == 1.0 and beta["exact_match"]["score"] == 1.0
    assert beta["macro_f1"]["ci_low"] is not None
    page = client.get("/challenges/toy").get_data(as_text=True)
    assert "macro_f1" in page and "exact_match" in page
    assert (
        client.get("/api/challenges/toy/leaderboard.csv")
        .get_data(as_text=True)
        .splitlines()[0]
        .endswith(
            "macro_f1_score,macro_f1_ci_low,macro_f1_ci_high,exact_match_score,exact_match_ci_low,exact_match_ci_high"
        )
    )


def test_secondary_metrics_are_checked_with_the_bundle(platform, tmp_path):
    import pytest

    from arena.errors import BadRequest

    world = World(platform, platform.runner, tmp_path)
    for bad, message in (
        (["nope"], "unknown metric"),
        (["accuracy"], "nor name the primary"),
        (["mae"], "labels.jsonl line 1"),
    ):
        with pytest.raises(BadRequest, match=message):
            world.challenge(secondary_metrics=bad)


def test_forms_are_capped_before_they_are_read(client, platform):
    too_big = client.post("/sign-in", data={"csrf": "x", "token": "a" * (100 * 1024)})
    assert too_big.status_code == 413
    organiser, token = accounts.create_organiser(platform, name="Org")
    web_sign_in(client, token, role="organiser")
    big_bundle = client.post(
        "/console/challenges/new",
        content_type="multipart/form-data",
        data={
            "csrf": csrf_of(client, "/console/challenges/new"),
            "challenge_yaml": (io.BytesIO(b"slug: big\\n" + b"#" * (200 * 1024)), "challenge.yaml"),
        },
    )
    assert big_bundle.status_code == 400  # read (a bundle may be large), then refused for what it lacks
