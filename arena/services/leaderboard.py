"""The public leaderboard: each team's best scored submission, ranked by the challenge's metric."""

from __future__ import annotations

from sqlalchemy import select

import evaluators
from arena.models import Result, Submission
from arena.platform import Platform
from arena.services.lookups import get_challenge


def _best_per_team(submissions: list[Submission], higher: bool) -> list[Submission]:
    best: dict[int, Submission] = {}
    for sub in submissions:  # oldest first, so an equal later score does not replace the first
        current = best.get(sub.team_id)
        better = current is None or (sub.score > current.score if higher else sub.score < current.score)
        if better:
            best[sub.team_id] = sub
    return sorted(best.values(), key=lambda s: (-s.score if higher else s.score, s.created_at))


def rank_bands(entries: list[dict], higher: bool) -> None:
    """An entry's band is its best possible rank: 1 + the number of entries that are better
    beyond doubt (their whole interval beats its whole interval), as Chatbot Arena's "Rank (UB)".
    Entries whose intervals overlap can share a band; without an interval an entry stands alone."""
    for entry in entries:
        if entry["ci_low"] is None:
            entry["rank_band"] = entry["rank"]
            continue
        surely_better = sum(
            1 for other in entries if other is not entry and other["ci_low"] is not None and (
                other["ci_low"] > entry["ci_high"] if higher else other["ci_high"] < entry["ci_low"]))
        entry["rank_band"] = 1 + surely_better


def leaderboard(platform: Platform, *, slug: str) -> dict:
    """Ties share a rank (1, 2, 2, 4); within a tie, the earlier submission is listed first.
    Every entry carries its 95% bootstrap interval and its rank band."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        higher = evaluators.get_metric(challenge.metric).higher_is_better
        scored = session.scalars(
            select(Submission).where(Submission.challenge_id == challenge.id,
                                     Submission.kind == "hidden", Submission.status == "scored")
            .order_by(Submission.created_at)
        ).all()
        best = _best_per_team(list(scored), higher)
        intervals = dict(session.execute(
            select(Result.submission_id, Result).where(Result.submission_id.in_([s.id for s in best]))
        ).all())
        entries, previous = [], None
        for position, sub in enumerate(best, start=1):
            rank = entries[-1]["rank"] if previous == sub.score else position
            result = intervals.get(sub.id)
            entries.append({
                "rank": rank, "team": sub.team.name,
                "factories": [m.factory.name for m in sub.team.members],
                "score": sub.score, "submission_id": sub.id,
                "ci_low": result.ci_low if result else None, "ci_high": result.ci_high if result else None,
            })
            previous = sub.score
        rank_bands(entries, higher)
        return {"challenge": challenge.slug, "title": challenge.title, "metric": challenge.metric,
                "higher_is_better": higher, "entries": entries}
