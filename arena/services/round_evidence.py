"""The evidence of a closing round, gathered from the database: each team's counted submission
and private score, its per-item losses against the KPI baseline and against its neighbour in the
order. `report` joins it to the decisions (`arena.domain.payout.decide`) in the round report that
rounds.py logs."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import select

import evaluators
from arena.domain import payout
from arena.models import Challenge, HiddenSet, Registration, Result, Round, Submission, Team
from arena.services.scorers import metric_of
from arena.timeutil import iso


def _private(session, submission_id: str) -> Result:
    """The private split's result of a counted (so scored) submission: every one has it."""
    return session.scalars(select(Result).where(Result.submission_id == submission_id, Result.split == "private")).one()


def _counted_submission(session, *, item: Round, team_id: int) -> Submission | None:
    """A team's counted submission in a round: of those it selected (or, selecting none, its best
    on the public split), the one with the best private score; ties go to the earliest."""
    challenge = session.get(Challenge, item.challenge_id)
    higher = metric_of(challenge).higher_is_better
    scored = list(
        session.scalars(
            select(Submission)
            .where(
                Submission.round_id == item.id,
                Submission.team_id == team_id,
                Submission.kind == "hidden",
                Submission.status == "scored",
                Submission.hidden_set_id == item.hidden_set_id,
            )
            .order_by(Submission.created_at, Submission.id)
        )
    )
    if not scored:
        return None
    sign = 1 if higher else -1
    candidates = [s for s in scored if s.selected]
    if not candidates:
        public = {
            s.id: session.scalar(select(Result.score).where(Result.submission_id == s.id, Result.split == "public"))
            for s in scored
        }
        candidates = [max(scored, key=lambda s: sign * public[s.id])]  # max keeps the earliest of equals
    return max(candidates, key=lambda s: sign * _private(session, s.id).score)


def _losses(row: Result) -> np.ndarray:
    assert row.item_scores is not None  # a hidden run's result keeps its per-item losses
    return np.frombuffer(row.item_scores, dtype="<f8")


def _teams(
    session, *, challenge: Challenge, item: Round, stopped_at: datetime, baseline_team: str | None
) -> list[Team]:
    """Every team in the round: those with submissions in it, and those registered (approved)
    before it stopped, who are counted as not having submitted. Not the baseline team."""
    ids = set(session.scalars(select(Submission.team_id).where(Submission.round_id == item.id)))
    ids |= set(
        session.scalars(
            select(Registration.team_id).where(
                Registration.challenge_id == challenge.id,
                Registration.status == "approved",
                Registration.created_at < stopped_at,
            )
        )
    )
    teams = session.scalars(select(Team).where(Team.id.in_(ids))).all()
    return sorted((t for t in teams if t.name != baseline_team), key=lambda t: t.name)


def _baseline(session, *, item: Round, rules: dict) -> tuple[dict | None, np.ndarray | None]:
    kpi = rules["kpi"]
    if kpi is None:
        return None, None
    if "score" in kpi["baseline"]:
        return {"score": kpi["baseline"]["score"], "team": None, "submission": None}, None
    name = kpi["baseline"]["team"]
    team = session.scalar(select(Team).where(Team.name == name))
    counted = _counted_submission(session, item=item, team_id=team.id) if team else None
    if counted is None:
        return {"score": None, "team": name, "submission": None}, None
    row = _private(session, counted.id)
    return {"score": row.score, "team": name, "submission": counted.id}, _losses(row)


def _team_evidence(session, *, item: Round, team: Team, baseline: dict | None, base_losses, metric) -> dict:
    registration = session.get(Registration, (item.challenge_id, team.id))
    entry = {
        "team": team.name,
        "submission": None,
        "score": None,
        "ci_low": None,
        "ci_high": None,
        "open_source": False,
        "factories": [[m.factory.name, repr(m.share)] for m in sorted(team.members, key=lambda m: m.factory.name)],
        "misses_before": registration.kpi_misses if registration else 0,
        "vs_baseline": None,
    }
    counted = _counted_submission(session, item=item, team_id=team.id)
    if counted is None:
        return entry
    row = _private(session, counted.id)
    entry.update(
        submission=counted.id,
        score=row.score,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        open_source=bool((counted.method_card or {}).get("open_source")),
    )
    if row.slices:  # shown in the report; only the primary score decides
        entry["slices"] = row.slices
    losses = _losses(row)
    if baseline is not None and baseline["score"] is not None:
        reference = (
            base_losses
            if base_losses is not None
            else np.full(len(losses), evaluators.loss_at_score(metric, baseline["score"]))
        )
        entry["vs_baseline"] = evaluators.differences(reference - losses).as_dict()
    entry["_losses"] = losses
    return entry


def report(
    session,
    *,
    challenge: Challenge,
    item: Round,
    rules: dict,
    opened_at: datetime,
    stopped_at: datetime,
    now: datetime,
) -> dict:
    """The round's evidence (what the platform measured) with its decisions (`payout.decide`):
    the report logged when the round closes."""
    metric = metric_of(challenge)
    hidden = session.get(HiddenSet, item.hidden_set_id) if item.hidden_set_id else None
    baseline, base_losses = _baseline(session, item=item, rules=rules)
    found = _teams(
        session, challenge=challenge, item=item, stopped_at=stopped_at, baseline_team=(baseline or {}).get("team")
    )
    teams = [
        _team_evidence(session, item=item, team=t, baseline=baseline, base_losses=base_losses, metric=metric)
        for t in found
    ]
    losses = {t["team"]: t.pop("_losses", None) for t in teams}
    evidence = {
        "format": payout.FORMAT,
        "challenge": challenge.slug,
        "round": item.number,
        "name": item.name,
        "opened_at": iso(opened_at),
        "ends_at": iso(item.ends_at),
        "stopped_at": iso(stopped_at),
        "closed_early": item.stopped_at is not None and item.stopped_at < item.ends_at,
        "closed_at": iso(now),
        "metric": metric.name,
        "higher_is_better": metric.higher_is_better,
        "hidden_set": hidden.id if hidden else None,
        "hidden_set_root": hidden.root if hidden else None,
        "rules": rules,
        "pool": {"cents": item.pool_cents, "gpu_minutes": item.pool_gpu_minutes},
        "baseline": baseline,
        "teams": teams,
        "pairs": [],
    }
    evidence["pairs"] = [
        {"better": a, "worse": b, "differences": evaluators.differences(losses[b] - losses[a]).as_dict()}
        for a, b in payout.tie_pairs(evidence)
    ]
    return {**evidence, **payout.decide(evidence)}
