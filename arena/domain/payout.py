"""A round's decisions (KPI verdicts, rank bands, awards, eliminations) as a pure function of its
published evidence: the private scores, the per-item differences behind each paired test, the
factories' shares and the rules logged when the challenge opened. The platform closes a round
with this code and `arena verify` reruns it on the logged report, so the two cannot disagree
without it showing.

Evidence (what the platform measured), as logged:
    teams:    [{team, submission, score, ci_low, ci_high, factories: [[name, share]],
                misses_before, vs_baseline: {values, counts} | None}]
    baseline: {score, team, submission} | None (no KPI; or {"score": None} when the baseline
              team had nothing scored: then nobody qualifies and no one is counted as missing)
    pairs:    [{better, worse, differences}] between neighbours in the qualifying order
Decisions (what follows from it): standings, pairs' p-values, totals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import evaluators
from arena.domain.allocation import Standing, allocate, split_among_factories

FORMAT = "arena.round-report/v1"


def kpi_seed(challenge: str, number: int, team: str) -> int:
    return evaluators.derive_seed(challenge, str(number), "kpi", team)


def tie_seed(challenge: str, number: int, better: str, worse: str) -> int:
    return evaluators.derive_seed(challenge, str(number), "tie", better, worse)


def _key(higher: bool) -> Callable[[dict[str, Any]], tuple[float, str]]:
    return lambda t: (-t["score"] if higher else t["score"], t["team"])


def _kpi(evidence: dict[str, Any], team: dict[str, Any]) -> tuple[str, float | None]:
    """(verdict, p-value): met, missed, no_submission, no_baseline, or none (no KPI declared)."""
    kpi, baseline = evidence["rules"]["kpi"], evidence["baseline"]
    if kpi is None:
        return ("none" if team["submission"] else "no_submission"), None
    if baseline is None or baseline.get("score") is None:
        return "no_baseline", None
    if not team["submission"] or team["vs_baseline"] is None:
        return "no_submission", None
    found = evaluators.Differences.from_dict(team["vs_baseline"])
    p = evaluators.p_value(
        found,
        seed=kpi_seed(evidence["challenge"], evidence["round"], team["team"]),
        resamples=evidence["rules"]["resamples"],
        alternative="greater",
    )
    return ("met" if p < kpi["alpha"] else "missed"), p


def verdicts(evidence: dict[str, Any]) -> dict[str, tuple[str, float | None]]:
    return {team["team"]: _kpi(evidence, team) for team in evidence["teams"]}


def eligible(evidence: dict[str, Any], team: dict[str, Any]) -> bool:
    """Where the rules pay only open-source entries, the counted submission's card must say so."""
    return not evidence["rules"]["rewards"].get("require_open_source") or bool(team.get("open_source"))


def qualifying_order(
    evidence: dict[str, Any], found: dict[str, tuple[str, float | None]] | None = None
) -> list[dict[str, Any]]:
    """Teams that qualify (scored, met the KPI where there is one, and eligible), best first.
    `found`: the verdicts, when the caller has them already (each is a bootstrap)."""
    found = found if found is not None else verdicts(evidence)
    qualifying = [t for t in evidence["teams"] if found[t["team"]][0] in ("met", "none") and eligible(evidence, t)]
    return sorted(qualifying, key=_key(evidence["higher_is_better"]))


def tie_pairs(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """The neighbours in the qualifying order whose difference must be tested."""
    order = [t["team"] for t in qualifying_order(evidence)]
    return list(zip(order, order[1:], strict=False))


def _pair_tests(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    alpha = (evidence["rules"]["kpi"] or {}).get("alpha", 0.05)
    tests = []
    for pair in evidence["pairs"]:
        found = evaluators.Differences.from_dict(pair["differences"])
        p = evaluators.p_value(
            found,
            seed=tie_seed(evidence["challenge"], evidence["round"], pair["better"], pair["worse"]),
            resamples=evidence["rules"]["resamples"],
            alternative="two-sided",
        )
        tests.append({"better": pair["better"], "worse": pair["worse"], "p_value": p, "tied": p >= alpha})
    return tests


def _bands(order: list[dict[str, Any]], tests: list[dict[str, Any]]) -> dict[str, int]:
    """A band is a run of neighbours each not significantly different from the next; it is
    numbered by its first position, like a shared rank. Tied teams are never told apart."""
    tied = {(t["better"], t["worse"]) for t in tests if t["tied"]}
    bands, band = {}, 1
    for position, team in enumerate(order, start=1):
        if position > 1 and (order[position - 2]["team"], team["team"]) not in tied:
            band = position
        bands[team["team"]] = band
    return bands


def _positions(ranked: list[dict[str, Any]]) -> dict[str, int]:
    positions, previous = {}, None
    for index, team in enumerate(ranked, start=1):
        positions[team["team"]] = (
            positions[previous["team"]] if previous and previous["score"] == team["score"] else index
        )
        previous = team
    return positions


def _improvement(evidence: dict[str, Any], team: dict[str, Any]) -> float:
    base = (evidence["baseline"] or {}).get("score")
    if base is None or team["score"] is None:
        return 0.0
    return float(team["score"] - base if evidence["higher_is_better"] else base - team["score"])


def _amounts(
    evidence: dict[str, Any], order: list[dict[str, Any]], bands: dict[str, int]
) -> dict[str, tuple[int, int]]:
    rules, higher = evidence["rules"]["rewards"], evidence["higher_is_better"]
    standings = [
        Standing(
            team=t["team"],
            score=t["score"],
            rank_band=bands[t["team"]],
            qualifies=True,
            improvement=_improvement(evidence, t),
        )
        for t in order
    ]
    pools = evidence["pool"]
    money = allocate(
        standings, rule=rules["rule"], pool=pools["cents"], higher_is_better=higher, shares=rules["shares"]
    )
    minutes = allocate(
        standings, rule=rules["rule"], pool=pools["gpu_minutes"], higher_is_better=higher, shares=rules["shares"]
    )
    return {team: (money[team], minutes[team]) for team in money}


def _factories(team: dict[str, Any], cents: int, minutes: int) -> list[dict[str, Any]]:
    shares = {name: share for name, share in team["factories"]}
    money = split_among_factories(cents, shares) if shares else {}
    gpu = split_among_factories(minutes, shares) if shares else {}
    return [
        {"factory": name, "share": share, "cents": money[name], "gpu_minutes": gpu[name]}
        for name, share in team["factories"]
    ]


def _misses(evidence: dict[str, Any], team: dict[str, Any], verdict: str) -> tuple[int, bool]:
    kpi = evidence["rules"]["kpi"]
    if kpi is None or verdict == "no_baseline":
        return team["misses_before"], False
    misses = 0 if verdict == "met" else team["misses_before"] + 1
    return misses, bool(kpi["eliminate_after"]) and misses >= kpi["eliminate_after"]


def decide(evidence: dict[str, Any]) -> dict[str, Any]:
    """The decisions that follow from a round's evidence: standings (every team, ranked ones
    first), the neighbour tests, and the totals paid."""
    found = verdicts(evidence)
    order = qualifying_order(evidence, found)
    tests = _pair_tests(evidence)
    bands = _bands(order, tests)
    amounts = _amounts(evidence, order, bands) if order else {}
    ranked = sorted((t for t in evidence["teams"] if t["submission"]), key=_key(evidence["higher_is_better"]))
    absent = sorted((t for t in evidence["teams"] if not t["submission"]), key=lambda t: t["team"])
    positions = _positions(ranked)
    standings = []
    for team in ranked + absent:
        verdict, p = found[team["team"]]
        cents, minutes = amounts.get(team["team"], (0, 0))
        misses, eliminated = _misses(evidence, team, verdict)
        standings.append(
            {
                "position": positions.get(team["team"]),
                "team": team["team"],
                "submission": team["submission"],
                "score": team["score"],
                "ci_low": team["ci_low"],
                "ci_high": team["ci_high"],
                "kpi": verdict,
                "p_value": p,
                "improvement": _improvement(evidence, team) if team["submission"] else None,
                "qualifies": team["team"] in bands,
                "band": bands.get(team["team"]),
                "cents": cents,
                "gpu_minutes": minutes,
                "factories": _factories(team, cents, minutes),
                "misses": misses,
                "eliminated": eliminated,
            }
        )
        if "open_source" in team:  # evidence from before method cards has none
            standings[-1]["open_source"] = bool(team["open_source"])
    return {
        "standings": standings,
        "pair_tests": tests,
        "totals": {
            "cents": sum(s["cents"] for s in standings),
            "gpu_minutes": sum(s["gpu_minutes"] for s in standings),
        },
    }


def problems(report: dict[str, Any]) -> list[str]:
    """Where a logged report differs from what its own evidence implies (empty: it checks out)."""
    name = f"{report.get('challenge')} round {report.get('round')}"
    try:
        expected_pairs = tie_pairs(report)
        given_pairs = [(p["better"], p["worse"]) for p in report["pairs"]]
        if given_pairs != expected_pairs:
            return [f"{name}: the report tests the pairs {given_pairs}; its qualifying order implies {expected_pairs}"]
        implied = decide(report)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{name}: the report is not in the {FORMAT} format ({exc.__class__.__name__})"]
    found = []
    for key in ("pair_tests", "totals"):
        if report.get(key) != implied[key]:
            found.append(f"{name}: the published {key.replace('_', ' ')} differ from what the evidence implies")
    shown = {s["team"]: s for s in report.get("standings", [])}
    for expected in implied["standings"]:
        published = shown.get(expected["team"])
        if published != expected:
            differing = sorted(k for k in expected if published is None or published.get(k) != expected[k])
            found.append(
                f"{name}: {expected['team']}'s published {', '.join(differing)} differ from what "
                "the evidence and rules imply"
            )
    if len(shown) != len(implied["standings"]):
        found.append(f"{name}: the report lists {len(shown)} teams; its evidence has {len(implied['standings'])}")
    return found
