"""The public leaderboard: each team's best scored submission, ranked by the challenge's metric."""

from __future__ import annotations

from sqlalchemy import select

import evaluators
from arena.models import Submission
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


def leaderboard(platform: Platform, *, slug: str) -> dict:
    """Ties share a rank (1, 2, 2, 4); within a tie, the earlier submission is listed first."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        higher = evaluators.get_metric(challenge.metric).higher_is_better
        scored = session.scalars(
            select(Submission).where(Submission.challenge_id == challenge.id,
                                     Submission.kind == "hidden", Submission.status == "scored")
            .order_by(Submission.created_at)
        ).all()
        entries, previous = [], None
        for position, sub in enumerate(_best_per_team(list(scored), higher), start=1):
            rank = entries[-1]["rank"] if previous == sub.score else position
            entries.append({
                "rank": rank, "team": sub.team.name,
                "factories": [m.factory.name for m in sub.team.members],
                "score": sub.score, "submission_id": sub.id,
            })
            previous = sub.score
        return {"challenge": challenge.slug, "title": challenge.title, "metric": challenge.metric,
                "higher_is_better": higher, "entries": entries}
