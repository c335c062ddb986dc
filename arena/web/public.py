"""Public pages: challenges, leaderboards (with whiskers, bands and the baseline), team histories,
round results and awards, the public log, and an embeddable leaderboard."""

from __future__ import annotations

from flask import render_template

from arena.services import challenges, leaderboard, logtree, publiclog, rounds
from arena.web._views import bp, platform
from arena.web.charts import history_chart, whiskers


@bp.get("/")
def index():
    found = challenges.list_challenges(platform())
    schedules = {c["slug"]: rounds.list_rounds(platform(), slug=c["slug"]) for c in found}
    return render_template("index.html", challenges=found, schedules=schedules)


def _board_context(slug: str) -> dict:
    detail = challenges.describe_challenge(platform(), slug=slug)
    board = leaderboard.leaderboard(platform(), slug=slug)
    schedule = rounds.list_rounds(platform(), slug=slug)
    kpi = (schedule["rules"] or {}).get("kpi") or {}
    baseline = kpi.get("baseline", {}).get("score")
    return {
        "challenge": detail,
        "board": board,
        "schedule": schedule,
        "baseline": baseline,
        "whiskers": whiskers(board, baseline),
        "euros": rounds.euros,
    }


@bp.get("/challenges/<slug>")
def challenge(slug: str):
    return render_template("challenge.html", **_board_context(slug))


@bp.get("/challenges/<slug>/embed")
def embed(slug: str):
    """The leaderboard alone, for an iframe on another site."""
    return render_template("embed.html", **_board_context(slug))


@bp.get("/challenges/<slug>/teams/<team>")
def team_history(slug: str, team: str):
    detail = challenges.describe_challenge(platform(), slug=slug)
    found = leaderboard.history(platform(), slug=slug, team=team)
    higher = detail["higher_is_better"]
    return render_template(
        "history.html", challenge=detail, history=found, chart=history_chart(found["released"], higher=higher)
    )


@bp.get("/challenges/<slug>/rounds/<int(max=2147483647):number>")
def round_report(slug: str, number: int):
    """A closed round's payout report: ranking, intervals, KPI verdicts, awards per factory."""
    detail = challenges.describe_challenge(platform(), slug=slug)
    found = rounds.get_report(platform(), slug=slug, number=number)
    return render_template(
        "round.html", challenge=detail, report=found["report"], entry=found["log_entry"], euros=rounds.euros
    )


@bp.get("/log")
def public_log():
    head = logtree.tree_head(platform())
    latest = publiclog.entries(platform(), start=max(0, head["head"]["size"] - 50), limit=50)
    return render_template(
        "log.html", head=head, entries=list(reversed(latest)), challenges=challenges.list_challenges(platform())
    )
