"""The CSV files Arena hands out: a leaderboard (GET /api/challenges/<slug>/leaderboard.csv) and a
round's payout report (`arena rewards --csv`, GET .../rounds/<n>/report.csv)."""

from __future__ import annotations

import csv
import io
from typing import Any

BOARD_COLUMNS = ("rank", "rank_band", "team", "factories", "score", "ci_low", "ci_high", "submission_id")


def board_csv(board: dict[str, Any]) -> str:
    """One line per entry; each secondary metric adds its score and interval columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = [f"{m}_{k}" for m in board.get("secondary_metrics", []) for k in ("score", "ci_low", "ci_high")]
    writer.writerow([*BOARD_COLUMNS, *extra])
    for entry in board["entries"]:
        row = [";".join(entry[c]) if c == "factories" else entry[c] for c in BOARD_COLUMNS]
        for name in board.get("secondary_metrics", []):
            found = (entry.get("secondary") or {}).get(name) or {}
            row += [found.get("score"), found.get("ci_low"), found.get("ci_high")]
        writer.writerow(row)
    return out.getvalue()


REPORT_COLUMNS = (
    "round",
    "position",
    "band",
    "team",
    "factory",
    "factory_share",
    "submission",
    "score",
    "ci_low",
    "ci_high",
    "kpi",
    "p_value",
    "qualifies",
    "team_euros",
    "team_gpu_minutes",
    "factory_euros",
    "factory_gpu_minutes",
    "misses",
    "eliminated",
)


def euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def report_csv(report: dict[str, Any]) -> str:
    """One line per team and factory (an alliance has several): euros to the cent, GPU-minutes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for s in report["standings"]:
        for f in s["factories"] or [{"factory": "", "share": "", "cents": 0, "gpu_minutes": 0}]:
            writer.writerow(
                [
                    report["round"],
                    s["position"],
                    s["band"],
                    s["team"],
                    f["factory"],
                    f["share"],
                    s["submission"],
                    s["score"],
                    s["ci_low"],
                    s["ci_high"],
                    s["kpi"],
                    s["p_value"],
                    s["qualifies"],
                    euros(s["cents"]),
                    s["gpu_minutes"],
                    euros(f["cents"]),
                    f["gpu_minutes"],
                    s["misses"],
                    s["eliminated"],
                ]
            )
    return out.getvalue()
