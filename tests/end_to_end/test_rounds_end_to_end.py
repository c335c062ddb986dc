"""Two rounds end to end with nothing faked: `arena serve` and the CLI as processes, the real
Docker engine running the example models, real encryption, a real database. Several teams, one
alliance, a tie, a team below the KPI and an elimination; the payout reports are checked against
amounts computed by hand, and `arena verify` recomputes them from the exported log."""

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
BUNDLE = ROOT / "examples" / "challenges" / "gpu-faults"


@pytest.fixture(scope="module")
def server(docker_engine, tmp_path_factory):
    for name in ("good", "fair", "weak"):
        docker_engine.images.get(f"arena-example/{name}:latest")  # built by scripts/setup.sh
    with serve_arena(tmp_path_factory.mktemp("arena-home")) as env:
        yield env


def bundle_with_rounds(folder: Path) -> Path:
    shutil.copytree(BUNDLE, folder)
    config = yaml.safe_load((folder / "challenge.yaml").read_text())
    now = utcnow()
    config.update(
        {
            "slug": "gpu-faults-rounds",
            # 90% of the items rank the rounds: each model's private score is then within a hair of
            # its score on the whole set (good 0.952, fair 0.904, weak 0.836), whatever the secret
            # split, so the verdicts against the 0.86 baseline do not depend on it.
            "public_fraction": 0.1,
            "rounds": [
                {"name": "Winter", "start": iso(now - timedelta(minutes=1)), "end": iso(now + timedelta(hours=1))},
                {"name": "Spring", "end": iso(now + timedelta(hours=2)), "euros": 5000.01, "gpu_hours": 50},
            ],
            "kpi": {"baseline": {"score": 0.86}, "alpha": 0.05, "eliminate_after": 2},
            "rewards": {"rule": "rank_band_split", "shares": [0.5, 0.3, 0.2], "euros": 10000, "gpu_hours": 100},
        }
    )
    (folder / "challenge.yaml").write_text(yaml.safe_dump(config))
    return folder


def standings(report: dict) -> dict[str, dict]:
    return {s["team"]: s for s in report["standings"]}


def test_two_rounds_of_rewards(server, tmp_path):
    organiser = json.loads(arena(server, "admin", "create-organiser", "Rounds Organiser", "--json").stdout)["token"]
    made = json.loads(
        arena(server, "challenge", "create", str(bundle_with_rounds(tmp_path / "b")), "--json", token=organiser).stdout
    )
    slug = made["slug"]
    tokens = {}
    for team, factories in (
        ("Alpha", ["LUMI:0.6", "IT4LIA:0.4"]),
        ("Beta", ["MareNostrum"]),
        ("Gamma", ["MeluXina"]),
        ("Delta", ["Leonardo"]),
    ):
        args = [a for f in factories for a in ("--factory", f)]
        tokens[team] = json.loads(arena(server, "team", "create", team, *args, "--json", token=organiser).stdout)[
            "token"
        ]

    def submit(team: str, model: str, check: bool = True):
        return arena(
            server, "submit", slug, f"arena-example/{model}", "--wait", "--json", token=tokens[team], check=check
        )

    # Winter: Alpha and Beta run the same model (a tie), Gamma a fair one, Delta a weak one.
    for team, model in (("Alpha", "good"), ("Beta", "good"), ("Gamma", "fair"), ("Delta", "weak")):
        assert json.loads(submit(team, model).stdout)["status"] == "scored"
    refused = arena(server, "round", "close", slug, token=organiser, check=False)
    assert refused.returncode == 1 and "--early" in refused.stderr and "Traceback" not in refused.stderr
    closed = json.loads(arena(server, "round", "close", slug, "--early", "--wait", "--json", token=organiser).stdout)
    assert (closed["name"], closed["status"]) == ("Winter", "closed")

    winter = json.loads(arena(server, "rewards", slug, "--round", "1", "--json").stdout)["report"]
    teams = standings(winter)
    assert teams["Alpha"]["score"] == teams["Beta"]["score"] > teams["Gamma"]["score"] > teams["Delta"]["score"]
    assert [teams[t]["kpi"] for t in ("Alpha", "Beta", "Gamma", "Delta")] == ["met", "met", "met", "missed"]
    assert [teams[t]["band"] for t in ("Alpha", "Beta", "Gamma", "Delta")] == [1, 1, 3, None]
    # By hand: Alpha and Beta span ranks 1-2, (50% + 30%) / 2 = 40% each; Gamma 20%; Delta nothing.
    assert [teams[t]["cents"] for t in ("Alpha", "Beta", "Gamma", "Delta")] == [400_000, 400_000, 200_000, 0]
    assert [teams[t]["gpu_minutes"] for t in ("Alpha", "Beta", "Gamma", "Delta")] == [2400, 2400, 1200, 0]
    assert {f["factory"]: (f["cents"], f["gpu_minutes"]) for f in teams["Alpha"]["factories"]} == {
        "LUMI": (240_000, 1440),
        "IT4LIA": (160_000, 960),
    }
    assert (teams["Delta"]["misses"], teams["Delta"]["eliminated"]) == (1, False)
    table = arena(server, "rewards", slug, "--csv", str(tmp_path / "winter.csv")).stdout
    assert "Winter" in table and "4000.00" in table
    assert len((tmp_path / "winter.csv").read_text().splitlines()) == 1 + 5  # Alpha has two factories

    # Spring opened when Winter closed. Beta sits it out; Delta misses again and is eliminated.
    # Alpha describes its entry with a method card; a card that breaks the rules is refused
    # before anything is uploaded.
    (tmp_path / "card.yaml").write_text(
        "name: Thermal rules\ncode_url: https://git.example.eu/alpha\nlicence: Apache-2.0\nopen_source: true\n"
    )
    (tmp_path / "bad.yaml").write_text("name: Secret\nopen_source: true\n")
    bad = arena(
        server,
        "submit",
        slug,
        "arena-example/good",
        "--method-card",
        str(tmp_path / "bad.yaml"),
        token=tokens["Alpha"],
        check=False,
    )
    assert bad.returncode == 1 and "needs its code_url and its licence" in bad.stderr
    carded = json.loads(
        arena(
            server,
            "submit",
            slug,
            "arena-example/good",
            "--method-card",
            str(tmp_path / "card.yaml"),
            "--wait",
            "--json",
            token=tokens["Alpha"],
        ).stdout
    )
    assert carded["status"] == "scored" and carded["method_card"]["licence"] == "Apache-2.0"
    for team, model in (("Gamma", "fair"), ("Delta", "weak")):
        assert json.loads(submit(team, model).stdout)["status"] == "scored"
    arena(server, "round", "close", slug, "--early", "--wait", token=organiser)
    spring = json.loads(arena(server, "rewards", slug, "--json").stdout)["report"]
    teams = standings(spring)
    assert spring["name"] == "Spring" and spring["pool"] == {"cents": 500_001, "gpu_minutes": 3000}
    assert (teams["Beta"]["kpi"], teams["Beta"]["misses"]) == ("no_submission", 1)
    assert (teams["Delta"]["misses"], teams["Delta"]["eliminated"]) == (2, True)
    # By hand: ranks 1-2 hold shares 50 and 30, scaled to the whole pool: 5/8 and 3/8 of 500,001
    # cents is 312,500.625 and 187,500.375; the leftover cent goes to the larger remainder.
    assert (teams["Alpha"]["cents"], teams["Gamma"]["cents"]) == (312_501, 187_500)
    assert (teams["Alpha"]["gpu_minutes"], teams["Gamma"]["gpu_minutes"]) == (1875, 1125)
    assert {f["factory"]: (f["cents"], f["gpu_minutes"]) for f in teams["Alpha"]["factories"]} == {
        "LUMI": (187_501, 1125),
        "IT4LIA": (125_000, 750),
    }

    eliminated = submit("Delta", "weak", check=False)
    assert eliminated.returncode == 1 and "eliminated" in eliminated.stderr
    arena(server, "round", "readmit", slug, "Delta", token=organiser)
    no_round = submit("Delta", "weak", check=False)
    assert no_round.returncode == 1 and "its last round is over" in no_round.stderr

    arena(server, "log", "export", slug, "-o", str(tmp_path / "log.json"))
    checked = json.loads(arena(server, "verify", str(tmp_path / "log.json"), "--json").stdout)
    assert checked["ok"] and checked["round_reports"] == 2

    # A report the platform signed but whose amounts do not follow from its evidence: found.
    document = json.loads((tmp_path / "log.json").read_text())
    entry = next(e for e in document["entries"] if e["body"]["kind"] == "round.report")
    entry["body"]["data"]["standings"][0]["cents"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(document))
    forged = arena(server, "verify", str(tmp_path / "forged.json"), check=False)
    assert forged.returncode == 1 and "signature does not verify" in forged.stdout
    assert "published cents" in forged.stdout
