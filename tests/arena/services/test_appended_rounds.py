"""A programme goes on: rounds appended to a running challenge, with rules for them only, pay and
verify like the first ones; rounds already there never change."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_rounds import World, by_team, fake_runner  # noqa: F401 - the scripted models' runner

from arena.cli.verify import verify_log_document
from arena.errors import BadRequest, Forbidden
from arena.models import Round
from arena.services import accounts, logexport, programme, publiclog, rounds
from arena.timeutil import iso, utcnow


@pytest.fixture
def world(platform, fake_runner, tmp_path):  # noqa: F811
    return World(platform, fake_runner, tmp_path)


def one_round(world):
    now = utcnow()
    world.challenge(
        rounds=[{"start": iso(now - timedelta(minutes=5)), "end": iso(now + timedelta(hours=1))}],
        rewards={"rule": "winner_take_all", "euros": 1000, "gpu_hours": 10},
    )
    world.team("Alpha", ["LUMI:2", "IT4LIA:1"])
    world.team("Beta", ["MareNostrum"])


def schedule(world):
    with world.platform.sessions() as session:
        return [
            (r.number, r.name, r.starts_at, r.ends_at, r.pool_cents, r.status, r.report is not None)
            for r in session.scalars(select(Round).order_by(Round.number))
        ]


def test_appended_rounds_pay_and_verify_like_the_first(world):
    one_round(world)
    world.submit("Alpha", None)
    world.submit("Beta", 10)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    before = schedule(world)
    now = utcnow()
    added = programme.append_rounds(
        world.platform,
        organiser=world.organiser,
        slug="toy",
        doc={
            "rounds": [
                {"name": "Spring", "end": iso(now + timedelta(hours=1))},
                {"name": "Summer", "end": iso(now + timedelta(hours=2)), "euros": 3000},
            ],
            "rewards": {"rule": "rank_shares", "shares": [0.75, 0.25], "euros": 2000, "gpu_hours": 1.5},
        },
    )
    # Round 1 is over, so Spring opens a second after its addition is logged (never before).
    assert [(r["number"], r["name"], r["status"], r["pool_cents"]) for r in added["added"]] == [
        (2, "Spring", "upcoming", 200_000),
        (3, "Summer", "upcoming", 300_000),
    ]
    assert (
        added["added"][0]["opens_at"]
        > publiclog.entries(world.platform, start=added["log_entry"]["seq"], limit=1)[0]["body"]["at"]
    )
    assert (
        added["rules"]["rewards"]["rule"] == "rank_shares"
        and added["opening_rules"]["rewards"]["rule"] == "winner_take_all"
    )
    assert schedule(world)[:1] == before  # the first round is as it was
    entry = publiclog.entries(world.platform, start=added["log_entry"]["seq"], limit=1)[0]
    assert entry["body"]["kind"] == "rounds.add" and [r["number"] for r in entry["body"]["data"]["rounds"]] == [2, 3]

    time.sleep(1.1)
    world.submit("Alpha", None)
    world.submit("Beta", 10)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    report = rounds.get_report(world.platform, slug="toy", number=2)["report"]
    teams = by_team(report)
    assert report["rules"]["rewards"]["shares"] == ["0.75", "0.25"]
    assert (teams["Alpha"]["cents"], teams["Beta"]["cents"]) == (150_000, 50_000)
    assert (teams["Alpha"]["gpu_minutes"], teams["Beta"]["gpu_minutes"]) == (68, 22)
    first = rounds.get_report(world.platform, slug="toy", number=1)["report"]
    assert by_team(first)["Alpha"]["cents"] == 100_000 and by_team(first)["Beta"]["cents"] == 0
    assert verify_log_document(logexport.document(world.platform, challenge="toy")) == []


def test_a_report_with_rules_other_than_those_in_force_fails_verify(world):
    one_round(world)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    programme.append_rounds(
        world.platform,
        organiser=world.organiser,
        slug="toy",
        doc={"rounds": [{"end": iso(utcnow() + timedelta(hours=1))}], "kpi": {"baseline": {"score": 0.5}}},
    )
    time.sleep(1.1)
    world.submit("Alpha", None)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    document = logexport.document(world.platform, challenge="toy")
    assert verify_log_document(document) == []
    # Round 2's report decided by the opening's rules (no KPI) instead of those added with it:
    forged = copy.deepcopy(document)
    for entry in forged["entries"]:
        if entry["body"]["kind"] == "round.report" and entry["body"]["data"]["round"] == 2:
            entry["body"]["data"]["rules"] = document["entries"][0]["body"]["data"]["rules"]
    assert any("not those in force when it opened" in p for p in verify_log_document(forged))


def test_rounds_there_never_change(world):
    one_round(world)
    now = utcnow()
    with pytest.raises(BadRequest, match="overlaps the round before it"):
        programme.append_rounds(
            world.platform,
            organiser=world.organiser,
            slug="toy",
            doc={"rounds": [{"start": iso(now), "end": iso(now + timedelta(hours=3))}]},
        )
    with pytest.raises(BadRequest, match="before now"):  # after round 1, but already past
        programme.append_rounds(
            world.platform,
            organiser=world.organiser,
            slug="toy",
            now=now + timedelta(hours=2),
            doc={"rounds": [{"start": iso(now + timedelta(hours=1, minutes=30)), "end": iso(now + timedelta(days=3))}]},
        )
    with pytest.raises(BadRequest, match="unknown key"):
        programme.append_rounds(
            world.platform,
            organiser=world.organiser,
            slug="toy",
            doc={"rounds": [{"end": iso(now + timedelta(days=3))}], "metric": "mae"},
        )
    with pytest.raises(BadRequest, match="rounds to add: kpi.baseline must be a mapping such as"):
        programme.append_rounds(
            world.platform,
            organiser=world.organiser,
            slug="toy",
            doc={"rounds": [{"end": iso(now + timedelta(days=3))}], "kpi": {"baseline": 0.6}},
        )
    other, _ = accounts.create_organiser(world.platform, name="Other Org")
    with pytest.raises(Forbidden):
        programme.append_rounds(
            world.platform, organiser=other, slug="toy", doc={"rounds": [{"end": iso(now + timedelta(days=3))}]}
        )
    added = programme.append_rounds(
        world.platform, organiser=world.organiser, slug="toy", doc={"rounds": [{"end": iso(now + timedelta(days=3))}]}
    )
    assert added["added"][0]["opens_at"] == added["rounds"][0]["ends_at"]  # when round 1 stops
    assert added["added"][0]["pool_cents"] == 100_000  # the last round's pool goes on
    assert len(schedule(world)) == 2


def test_the_api_and_the_page_show_added_rounds(client, world):
    from conftest import auth

    one_round(world)
    token = accounts.create_token(world.platform, actor=world.organiser, label="api")[1]
    body = {"rounds": [{"name": "Autumn", "end": iso(utcnow() + timedelta(days=3)), "gpu_hours": 2.5}]}
    made = client.post("/api/challenges/toy/rounds", json=body, headers=auth(token))
    assert made.status_code == 201 and made.json["added"][0]["name"] == "Autumn"
    bad = client.post("/api/challenges/toy/rounds", json={"rounds": "soon"}, headers=auth(token))
    assert bad.status_code == 400 and "such as [{name: Winter" in bad.json["error"]["message"]
    page = client.get("/challenges/toy").get_data(as_text=True)
    assert "Autumn" in page and "2 GPU-hours 30 min" in page


def test_two_closers_at_once_log_one_report(world, monkeypatch):
    """The worker and the organiser's request may finalize a round at the same moment; SQLite
    ignores FOR UPDATE (PostgreSQL's lock already serialises them), so the second must find the
    round closed and log nothing."""
    import os

    if os.environ.get("ARENA_TEST_DATABASE") == "postgres":
        pytest.skip("on PostgreSQL the row lock makes the second closer wait; this interleaving cannot happen")
    one_round(world)
    world.submit("Alpha", None)
    real_append, raced = publiclog.append, []

    def append_after_another_closer(platform, session, *, kind, challenge, data):
        if kind == "round.report" and not raced:
            raced.append(True)  # another closer runs to the end first, in its own transaction
            assert rounds.finalize_due(world.platform) == [("toy", 1)]
        return real_append(platform, session, kind=kind, challenge=challenge, data=data)

    monkeypatch.setattr(publiclog, "append", append_after_another_closer)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    kinds = [e["body"]["kind"] for e in publiclog.entries(world.platform, challenge="toy")]
    assert raced and kinds.count("round.report") == 1
