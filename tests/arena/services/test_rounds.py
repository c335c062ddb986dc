"""Rounds with scripted models at the sandbox seam: intake, closing, KPIs, awards, eliminations."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.cli.verify import round_reports, verify_log_document
from arena.domain import payout
from arena.errors import BadRequest, Conflict, Forbidden, NotFound
from arena.models import Registration
from arena.services import accounts, logexport, registrations, rounds
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission, select_for_final, set_method_card
from arena.timeutil import iso, utcnow
from arena.worker import Worker
from sandbox import RunOutcome

N = 400
LABELS = ["even" if i % 2 == 0 else "odd" for i in range(N)]


def predictor(wrong_every: int | None):
    """Right on every item but each `wrong_every`-th (None: always right; 1: always wrong)."""

    def predict(i: int) -> str:
        right = LABELS[i]
        if wrong_every and i % wrong_every == 0:
            return "odd" if right == "even" else "even"
        return right

    return predict


class ModelRunner:
    """Each image (by id) predicts with its own function of the item number."""

    def __init__(self):
        self.models = {}

    def ensure_image(self, *, image_id, tarball):
        pass

    def run(self, spec):
        lines = (spec.input_dir / "inputs.jsonl").read_text().splitlines()
        predict = self.models[spec.image_id]
        with (spec.output_dir / "predictions.jsonl").open("w") as out:
            for line in lines:
                item = json.loads(line)
                out.write(json.dumps({"id": item["id"], "prediction": predict(item["input"]["x"])}) + "\n")
        return RunOutcome("exited", 0, 0.01)

    def sweep(self, *, keep):
        return 0


@pytest.fixture
def fake_runner():
    return ModelRunner()


def rules(**overrides):
    now = utcnow()
    doc = {
        "rounds": [
            {"start": iso(now - timedelta(minutes=5)), "end": iso(now + timedelta(hours=1))},
            {"end": iso(now + timedelta(hours=2)), "euros": 5000.01, "gpu_hours": 50},
        ],
        "kpi": {"baseline": {"score": 0.8}, "alpha": 0.05, "eliminate_after": 2},
        "rewards": {"rule": "rank_band_split", "shares": [0.5, 0.3, 0.2], "euros": 10000, "gpu_hours": 100},
    }
    doc.update(overrides)
    return doc


class World:
    def __init__(self, platform, runner, tmp_path):
        self.platform, self.runner, self.tmp_path = platform, runner, tmp_path
        self.organiser, _ = accounts.create_organiser(platform, name="Org")
        self.teams = {}

    def challenge(self, **overrides):
        bundle = make_bundle(self.tmp_path / "bundle", n=N, labels=LABELS, extra=rules(**overrides))
        create_challenge(self.platform, organiser_id=self.organiser.id, bundle_dir=bundle)

    def team(self, name, factories):
        self.teams[name] = accounts.create_team(self.platform, name=name, factories=factories)[0]

    def submit(self, team, wrong_every):
        path = self.tmp_path / f"{team}-{wrong_every}.tar"
        image_id = make_image_tarball(path, salt=f"{team}{wrong_every}")
        self.runner.models[image_id] = predictor(wrong_every)
        with path.open("rb") as stream:
            image = receive_image(self.platform, stream=stream)
        made = create_submission(
            self.platform, team_id=self.teams[team].id, slug="toy", image_digest=image.digest, actor=self.teams[team]
        )
        Worker(self.platform).drain()
        return made["id"]


@pytest.fixture
def world(platform, fake_runner, tmp_path):
    return World(platform, fake_runner, tmp_path)


def by_team(report):
    return {s["team"]: s for s in report["standings"]}


def test_two_rounds_with_a_tie_a_miss_and_an_elimination(world):
    world.challenge()
    world.team("Alpha", ["LUMI:0.6", "IT4LIA:0.4"])
    world.team("Beta", ["MareNostrum"])
    world.team("Gamma", ["Meluxina"])
    world.team("Delta", ["Leonardo"])
    world.submit("Alpha", None)
    world.submit("Beta", None)  # the same predictions: a tie with Alpha
    world.submit("Gamma", 10)  # about 0.9: qualifies, clearly behind
    world.submit("Delta", 4)  # 0.75: below the baseline
    with pytest.raises(BadRequest, match="--early"):
        rounds.close_round(world.platform, organiser=world.organiser, slug="toy")
    closed = rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    assert closed["status"] == "closed"
    report = rounds.get_report(world.platform, slug="toy", number=1)["report"]
    teams = by_team(report)
    assert teams["Alpha"]["band"] == teams["Beta"]["band"] == 1 and teams["Gamma"]["band"] == 3
    assert teams["Delta"]["kpi"] == "missed" and teams["Delta"]["cents"] == 0
    assert [teams[t]["cents"] for t in ("Alpha", "Beta", "Gamma")] == [400_000, 400_000, 200_000]
    assert [teams[t]["gpu_minutes"] for t in ("Alpha", "Beta", "Gamma")] == [2400, 2400, 1200]
    assert teams["Alpha"]["factories"] == [
        {"factory": "IT4LIA", "share": "0.4", "cents": 160_000, "gpu_minutes": 960},
        {"factory": "LUMI", "share": "0.6", "cents": 240_000, "gpu_minutes": 1440},
    ]
    assert report["totals"] == {"cents": 1_000_000, "gpu_minutes": 6000}
    assert payout.problems(json.loads(json.dumps(report))) == []

    # Round 2 opened when round 1 stopped. Beta sits it out; Delta misses again: eliminated.
    world.submit("Alpha", None)
    world.submit("Gamma", 10)
    world.submit("Delta", 4)
    rounds.finalize_due(world.platform, now=utcnow() + timedelta(hours=3))
    report = rounds.get_report(world.platform, slug="toy")["report"]
    teams = by_team(report)
    assert report["round"] == 2 and not report["closed_early"]
    assert teams["Beta"]["kpi"] == "no_submission" and teams["Beta"]["misses"] == 1
    assert teams["Delta"]["eliminated"] and teams["Delta"]["misses"] == 2
    # Shares 0.5 and 0.3 of ranks 1-2, scaled to the whole pool: 5/8 and 3/8 of 500,001 cents.
    assert (teams["Alpha"]["cents"], teams["Gamma"]["cents"]) == (312_501, 187_500)
    assert (teams["Alpha"]["gpu_minutes"], teams["Gamma"]["gpu_minutes"]) == (1875, 1125)
    assert payout.problems(report) == []
    with world.platform.sessions() as session:
        statuses = {r.team_id: r.status for r in session.scalars(select(Registration))}
    assert statuses[world.teams["Delta"].id] == "eliminated"
    with pytest.raises(Forbidden, match="eliminated"):
        world.submit("Delta", 4)
    with pytest.raises(Conflict, match="arena round readmit"):
        registrations.decide(
            world.platform, organiser=world.organiser, slug="toy", team_id=world.teams["Delta"].id, approve=True
        )
    rounds.readmit(world.platform, organiser=world.organiser, slug="toy", team="Delta")
    with pytest.raises(Conflict, match="not eliminated"):
        rounds.readmit(world.platform, organiser=world.organiser, slug="toy", team="Delta")

    document = logexport.document(world.platform, challenge="toy")
    assert verify_log_document(document) == []
    assert [r["round"] for r in round_reports(document)] == [1, 2]


def test_a_wrong_amount_or_verdict_in_a_report_is_found(world):
    world.challenge()
    world.team("Alpha", ["LUMI"])
    world.team("Beta", ["MareNostrum"])
    world.submit("Alpha", None)
    world.submit("Beta", 10)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    report = rounds.get_report(world.platform, slug="toy")["report"]
    assert payout.problems(report) == []
    richer = copy.deepcopy(report)
    richer["standings"][1]["cents"] += 100
    assert any("Beta's published cents" in p for p in payout.problems(richer))
    kinder = copy.deepcopy(report)
    kinder["rules"]["kpi"]["alpha"] = 1e-9  # nobody would have qualified
    assert any("qualifying order implies" in p for p in payout.problems(kinder))
    forged = copy.deepcopy(report)  # evidence that Alpha was no better than the baseline
    forged["teams"][0]["vs_baseline"] = {"values": [0.0], "counts": [280]}
    assert any("qualifying order implies []" in p for p in payout.problems(forged))


def test_no_round_open_refuses_hidden_runs_but_not_sample_runs(world):
    now = utcnow()
    world.challenge(rounds=[{"start": iso(now + timedelta(hours=1)), "end": iso(now + timedelta(hours=2))}])
    world.team("Alpha", ["LUMI"])
    with pytest.raises(Conflict, match="no round of toy is open now; Round 1 opens at"):
        world.submit("Alpha", None)
    path = world.tmp_path / "s.tar"
    make_image_tarball(path, salt="s")
    with path.open("rb") as stream:
        image = receive_image(world.platform, stream=stream)
    made = create_submission(
        world.platform,
        team_id=world.teams["Alpha"].id,
        slug="toy",
        image_digest=image.digest,
        kind="sample",
        actor=world.teams["Alpha"],
    )
    assert made["kind"] == "sample"


def test_a_round_closes_itself_at_its_end_once_its_runs_are_done(world, platform):
    world.challenge()
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", None)
    assert rounds.finalize_due(platform) == []  # not ended yet
    later = utcnow() + timedelta(hours=1, minutes=1)
    assert rounds.finalize_due(platform, now=later) == [("toy", 1)]
    listed = rounds.list_rounds(platform, slug="toy")["rounds"]
    assert [r["status"] for r in listed] == ["closed", "upcoming"]  # round 2 opens at round 1's end
    assert listed[0]["paid_cents"] == 1_000_000


def test_a_baseline_team_and_selected_submissions(world):
    world.challenge(kpi={"baseline": {"team": "Org Baseline"}, "alpha": 0.05})
    world.team("Org Baseline", ["Organiser"])
    world.team("Alpha", ["LUMI"])
    world.submit("Org Baseline", 5)
    best = world.submit("Alpha", None)
    chosen = world.submit("Alpha", 10)
    select_for_final(world.platform, principal=world.teams["Alpha"], submission_id=chosen, selected=True)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    report = rounds.get_report(world.platform, slug="toy")["report"]
    assert report["baseline"]["team"] == "Org Baseline" and report["baseline"]["score"] == pytest.approx(0.8, abs=0.08)
    assert [s["team"] for s in report["standings"]] == ["Alpha"]  # the baseline is not ranked
    alpha = report["standings"][0]
    assert alpha["submission"] == chosen != best and alpha["kpi"] == "met"
    with pytest.raises(Conflict, match="stopped taking submissions"):
        select_for_final(world.platform, principal=world.teams["Alpha"], submission_id=best, selected=True)


def test_an_absent_baseline_pays_nothing_and_counts_no_miss(world):
    world.challenge(kpi={"baseline": {"team": "Org Baseline"}, "eliminate_after": 1})
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", None)
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    alpha = rounds.get_report(world.platform, slug="toy")["report"]["standings"][0]
    assert (alpha["kpi"], alpha["cents"], alpha["misses"], alpha["eliminated"]) == ("no_baseline", 0, 0, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rounds": []}, "rounds must list 1-100 rounds"),
        ({"rounds": [{"end": "2030-01-01T00:00:00Z"}]}, "rounds[1] needs a start"),
        ({"rounds": [{"start": date(2030, 1, 1), "end": "2030-02-01T00:00:00Z"}]}, "needs a time of day"),
        ({"rounds": [{"start": "2030-01-01T00:00:00", "end": "2030-02-01T00:00:00Z"}]}, "needs a time zone"),
        ({"rounds": [{"start": "2030-02-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"}]}, "ends before it starts"),
        (
            {
                "rounds": [
                    {"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z"},
                    {"start": "2030-01-15T00:00:00Z", "end": "2030-03-01T00:00:00Z"},
                ]
            },
            "overlaps the round before",
        ),
        ({"rounds": [{"start": "2020-01-01T00:00:00Z", "end": "2020-02-01T00:00:00Z"}]}, "ended at 2020-02-01"),
        ({"rewards": {"rule": "lottery"}}, "rewards.rule must be one of"),
        ({"rewards": {"rule": "rank_shares", "shares": [0.5, 0.3]}}, "add up to exactly 1"),
        ({"rewards": {"rule": "rank_shares", "shares": [0.3, 0.7]}}, "must not grow with rank"),
        ({"rewards": {"rule": "rank_shares", "shares": [1], "euros": 10.001}}, "whole number of cents"),
        ({"rewards": {"rule": "rank_shares", "shares": [1], "gpu_hours": 0.001}}, "whole number of GPU-minutes"),
        ({"rewards": {"rule": "winner_take_all", "euros": -5}}, "rewards.euros must be a number from 0"),
        ({"rewards": {"rule": "proportional"}, "kpi": None}, "declare kpi.baseline"),
        ({"kpi": {"baseline": {"score": 0.8, "team": "x"}}}, "exactly one of score"),
        ({"kpi": {"baseline": {"score": 0.8}, "alpha": 0.7}}, "kpi.alpha must be"),
        ({"kpi": {"baseline": {"score": 0.8}, "eliminate_after": 0}}, "kpi.eliminate_after must be"),
        ({"kpi": {"baseline": {"score": 0.8}, "bonus": 1}}, "kpi has unknown key(s) bonus"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(world, change, message):
    with pytest.raises(BadRequest) as found:
        world.challenge(**change)
    assert message in str(found.value)
    with pytest.raises(NotFound, match="no challenge"):
        rounds.list_rounds(world.platform, slug="toy")


def test_a_fixed_baseline_serves_every_aggregation_even_macro_f1(world, tmp_path):
    """Every declared aggregation has per-item values averaging to the metric (macro F1's are
    pseudo-values), so a fixed baseline score is the constant vector for any metric."""
    bundle = make_bundle(tmp_path / "f1", n=10, metric="macro_f1", extra=rules(kpi={"baseline": {"score": 0.5}}))
    created = create_challenge(world.platform, organiser_id=world.organiser.id, bundle_dir=bundle)
    assert created.n_items == 10


def test_pages_show_the_rules_and_each_closed_round(world, client):
    world.challenge()
    world.team("Alpha", ["LUMI:0.6", "IT4LIA:0.4"])
    world.submit("Alpha", None)
    before = client.get("/challenges/toy").get_data(as_text=True)
    assert "Rounds and rewards" in before and "rank_band_split" in before and "10000.00" in before
    missing = client.get("/api/challenges/toy/rewards")
    assert missing.status_code == 404 and "no round of toy has closed yet" in missing.json["error"]["message"]
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    page = client.get("/challenges/toy/rounds/1").get_data(as_text=True)
    assert "closed early by the organiser" in page and "IT4LIA (40%): 4000.00 EUR" in page
    csv_text = client.get("/api/challenges/toy/rewards.csv?round=1").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("round,position,band,team,factory")
    assert len(csv_text.splitlines()) == 3  # one line per factory of the alliance


def test_a_challenge_paying_only_open_source_entries_honours_method_cards(world):
    world.challenge(rewards={"rule": "rank_shares", "shares": [0.6, 0.4], "euros": 1000, "require_open_source": True})
    world.team("Open", ["LUMI"])
    world.team("Closed", ["IT4LIA"])
    opened = world.submit("Open", 10)
    closed = world.submit("Closed", None)  # the better score, but no open-source card
    set_method_card(
        world.platform,
        principal=world.teams["Open"],
        submission_id=opened,
        card={
            "name": "Thermal rules",
            "code_url": "https://git.example.eu/open",
            "licence": "Apache-2.0",
            "open_source": True,
        },
    )
    set_method_card(
        world.platform,
        principal=world.teams["Closed"],
        submission_id=closed,
        card={"name": "Secret sauce", "open_source": False},
    )
    with pytest.raises(BadRequest, match="needs its code_url and its licence"):
        set_method_card(
            world.platform,
            principal=world.teams["Closed"],
            submission_id=closed,
            card={"name": "x", "open_source": True},
        )
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    report = rounds.get_report(world.platform, slug="toy")["report"]
    teams = by_team(report)
    assert (teams["Closed"]["kpi"], teams["Closed"]["qualifies"], teams["Closed"]["cents"]) == ("met", False, 0)
    assert (teams["Open"]["open_source"], teams["Open"]["cents"]) == (True, 100_000)  # the whole pool
    assert payout.problems(report) == []
    with pytest.raises(Conflict, match="method cards are final"):
        set_method_card(
            world.platform, principal=world.teams["Open"], submission_id=opened, card={"name": "changed later"}
        )
    from arena.services import leaderboard

    board = {e["team"]: e for e in leaderboard.leaderboard(world.platform, slug="toy")["entries"]}
    assert board["Open"]["method_card"]["licence"] == "Apache-2.0"


def test_verify_checks_the_open_source_flag_against_the_logged_card(world):
    world.challenge(rewards={"rule": "winner_take_all", "euros": 10, "require_open_source": True})
    world.team("Open", ["LUMI"])
    made = world.submit("Open", None)
    set_method_card(
        world.platform,
        principal=world.teams["Open"],
        submission_id=made,
        card={"name": "n", "code_url": "https://example.eu/c", "licence": "MIT", "open_source": True},
    )
    rounds.close_round(world.platform, organiser=world.organiser, slug="toy", early=True)
    document = logexport.document(world.platform, challenge="toy")
    assert verify_log_document(document) == []
    from arena.cli.verify import _round_problems

    report = next(e["body"]["data"] for e in document["entries"] if e["body"]["kind"] == "round.report")
    for card in (e["body"]["data"] for e in document["entries"] if e["body"]["kind"] == "method_card"):
        card["card"]["open_source"] = False  # a log whose card says otherwise than the report
    assert any("open_source is not what its logged method card says" in p for p in _round_problems(document))
    assert report["standings"][0]["open_source"] is True
