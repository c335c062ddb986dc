"""The public leaderboard, computed from the public log: each team's best logged result on the
hidden set, ranked by the challenge's metric, with intervals and rank bands. Because it is a pure
function of logged entries, anyone holding the log can recompute it (`arena verify`)."""

from __future__ import annotations

import copy

from sqlalchemy import func, select

from arena.domain.ranking import rank_results
from arena.domain.tables import board_csv as as_csv  # noqa: F401 - the API serves it from here
from arena.models import LogEntry, Team
from arena.runtime import Platform
from arena.services import publiclog
from arena.services.lookups import get_challenge
from arena.services.scorers import metric_of


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
