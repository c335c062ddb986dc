"""Rounds with scripted models at the sandbox seam: intake, closing, KPIs, awards, eliminations."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from arena.errors import BadRequest, Conflict, Forbidden
from arena.models import Registration
from arena.services import accounts, payout, rounds
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission, select_for_final
from arena.timeutil import iso, utcnow
from arena.worker import Worker
from helpers import make_bundle, make_image_tarball
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
        "rounds": [{"start": iso(now - timedelta(minutes=5)), "end": iso(now + timedelta(hours=1))},
                   {"end": iso(now + timedelta(hours=2)), "euros": 5000.01, "gpu_hours": 50}],
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
        made = create_submission(self.platform, team_id=self.teams[team].id, slug="toy",
                                 image_digest=image.digest, actor=self.teams[team])
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
    world.submit("Beta", None)          # the same predictions: a tie with Alpha
    world.submit("Gamma", 10)           # about 0.9: qualifies, clearly behind
    world.submit("Delta", 5)            # about 0.8: not significantly above the baseline
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
        {"factory": "LUMI", "share": "0.6", "cents": 240_000, "gpu_minutes": 1440}]
    assert report["totals"] == {"cents": 1_000_000, "gpu_minutes": 6000}
    assert payout.problems(json.loads(json.dumps(report))) == []

    # Round 2 opened when round 1 stopped. Beta sits it out; Delta misses again: eliminated.
    world.submit("Alpha", None)
    world.submit("Gamma", 10)
    world.submit("Delta", 5)
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
