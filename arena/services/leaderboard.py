"""The public leaderboard, computed from the public log: each team's best logged result on the
hidden set, ranked by the challenge's metric, with intervals and rank bands. Because it is a pure
function of logged entries, anyone holding the log can recompute it (`arena verify`)."""

from __future__ import annotations

import copy
import csv
import io

from sqlalchemy import func, select

from arena.models import LogEntry, Team
from arena.platform import Platform
from arena.services import publiclog
from arena.services.lookups import get_challenge
from arena.services.scorers import metric_of

BOARD_KEYS = ("rank", "team", "score", "submission_id", "ci_low", "ci_high", "rank_band")


def rank_bands(entries: list[dict], higher: bool) -> None:
    """An entry's band is its best possible rank: 1 + the number of entries that are better
    beyond doubt (their whole interval beats its whole interval), as Chatbot Arena's "Rank (UB)".
    Entries whose intervals overlap can share a band; without an interval an entry stands alone."""
    for entry in entries:
        if entry["ci_low"] is None:
            entry["rank_band"] = entry["rank"]
            continue
        surely_better = sum(
            1
            for other in entries
            if other is not entry
            and other["ci_low"] is not None
            and (other["ci_low"] > entry["ci_high"] if higher else other["ci_high"] < entry["ci_low"])
        )
        entry["rank_band"] = 1 + surely_better


def rank_results(log_entries: list[dict], *, higher: bool) -> list[dict]:
    """The board implied by a challenge's log entries (receipts and results), oldest first.

    Only results the Ladder released count, at their released (1/n-grid) value. Each team's best
    result counts; an equal later score does not replace an earlier one. Ties
    share a rank (1, 2, 2, 4); within a tie, the earlier submission is listed first.
    """
    receipt_order = {
        e["body"]["data"]["submission"]: e["body"]["seq"]
        for e in log_entries
        if e["body"]["kind"] == "submission.receipt"
    }
    results = [
        e["body"]["data"]
        for e in log_entries
        if e["body"]["kind"] == "result" and e["body"]["data"].get("released", True)
    ]
    results.sort(key=lambda r: receipt_order.get(r["submission"], 0))
    best: dict[str, dict] = {}
    for result in results:
        current = best.get(result["team"])
        if current is None or (result["score"] > current["score"] if higher else result["score"] < current["score"]):
            best[result["team"]] = result
    ordered = sorted(
        best.values(), key=lambda r: (-r["score"] if higher else r["score"], receipt_order.get(r["submission"], 0))
    )
    entries: list[dict] = []
    previous = None
    for position, result in enumerate(ordered, start=1):
        entries.append(
            {
                "rank": entries[-1]["rank"] if previous == result["score"] else position,
                "team": result["team"],
                "score": result["score"],
                "submission_id": result["submission"],
                "ci_low": result.get("ci_low"),
                "ci_high": result.get("ci_high"),
                "secondary": result.get("secondary"),
                **({"slices": result["slices"]} if result.get("slices") else {}),
            }
        )
        previous = result["score"]
    rank_bands(entries, higher)
    return entries


def leaderboard(platform: Platform, *, slug: str, log_entries: list[dict] | None = None) -> dict:
    """The board; computed once per state of the log (its newest entry) and remembered, since it
    is a pure function of the log, the challenge and its teams (names and factories never change)."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        higher = metric_of(challenge).higher_is_better
        title, metric = challenge.title, challenge.metric
        secondary = list(challenge.secondary_metrics or (challenge.scorer or {}).get("secondary") or [])
        tip = session.scalar(select(func.max(LogEntry.seq))) if log_entries is None else None
    if tip is not None and (found := platform.memo.get(("leaderboard", slug))) and found[0] == tip:
        return copy.deepcopy(found[1])
    board = _compute(platform, slug=slug, title=title, metric=metric, higher=higher, log_entries=log_entries)
    board["secondary_metrics"] = secondary
    if tip is not None:
        platform.memo[("leaderboard", slug)] = (tip, copy.deepcopy(board))
    return board


def _compute(
    platform: Platform, *, slug: str, title: str, metric: str, higher: bool, log_entries: list[dict] | None
) -> dict:
    if log_entries is None:
        log_entries = publiclog.entries(platform, challenge=slug, limit=10**9)
    entries = rank_results(log_entries, higher=higher)
    cards = {
        e["body"]["data"]["submission"]: e["body"]["data"]["card"]
        for e in log_entries
        if e["body"]["kind"] == "method_card"
    }  # the latest card of each submission
    for entry in entries:
        entry["method_card"] = cards.get(entry["submission_id"])
    with platform.sessions() as session:
        teams = {t.name: t for t in session.scalars(select(Team).where(Team.name.in_([e["team"] for e in entries])))}
        for entry in entries:
            team = teams.get(entry["team"])
            entry["factories"] = [m.factory.name for m in team.members] if team else []
    return {"challenge": slug, "title": title, "metric": metric, "higher_is_better": higher, "entries": entries}


CSV_COLUMNS = ("rank", "rank_band", "team", "factories", "score", "ci_low", "ci_high", "submission_id")


def as_csv(board: dict) -> str:
    """One line per entry; each secondary metric adds its score and interval columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = [f"{m}_{k}" for m in board.get("secondary_metrics", []) for k in ("score", "ci_low", "ci_high")]
    writer.writerow([*CSV_COLUMNS, *extra])
    for entry in board["entries"]:
        row = [";".join(entry[c]) if c == "factories" else entry[c] for c in CSV_COLUMNS]
        for name in board.get("secondary_metrics", []):
            found = (entry.get("secondary") or {}).get(name) or {}
            row += [found.get("score"), found.get("ci_low"), found.get("ci_high")]
        writer.writerow(row)
    return out.getvalue()


def history(platform: Platform, *, slug: str, team: str) -> dict:
    """A team's released public scores over time, from the log (what the board showed, when)."""
    with platform.sessions() as session:
        get_challenge(session, slug)
    points = [
        {"at": e["body"]["at"], "score": e["body"]["data"]["score"], "submission_id": e["body"]["data"]["submission"]}
        for e in publiclog.entries(platform, challenge=slug, limit=10**9)
        if e["body"]["kind"] == "result" and e["body"]["data"]["team"] == team and e["body"]["data"].get("released")
    ]
    return {"challenge": slug, "team": team, "released": points}
