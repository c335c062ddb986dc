"""Ranking a challenge's logged results into its board: each team's best released result,
ties sharing a rank, and rank bands from the intervals. A pure function of the public log, so
the platform (services/leaderboard.py) and `arena verify` compute the same board."""

from __future__ import annotations

from typing import Any

BOARD_KEYS = ("rank", "team", "score", "submission_id", "ci_low", "ci_high", "rank_band")


def rank_bands(entries: list[dict[str, Any]], higher: bool) -> None:
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


def rank_results(log_entries: list[dict[str, Any]], *, higher: bool) -> list[dict[str, Any]]:
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
    best: dict[str, dict[str, Any]] = {}
    for result in results:
        current = best.get(result["team"])
        if current is None or (result["score"] > current["score"] if higher else result["score"] < current["score"]):
            best[result["team"]] = result
    ordered = sorted(
        best.values(), key=lambda r: (-r["score"] if higher else r["score"], receipt_order.get(r["submission"], 0))
    )
    entries: list[dict[str, Any]] = []
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
