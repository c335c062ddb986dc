"""The fair queue: which queued job a worker takes next.

- **One job, one worker.** Claims run one at a time (a transaction-level advisory lock on
  PostgreSQL; SQLite has one writer anyway), the job row is locked with `FOR UPDATE SKIP LOCKED`,
  and the update that takes it checks it is still queued.
- **A per-team cap.** A team never has more than `team_max_running` jobs running at once, on all
  workers together; its other jobs wait even when workers are free, so a burst from one team cannot
  fill the machines.
- **Fair order between teams.** Among the jobs that may start, the one whose team has the fewest
  jobs running goes first; among equals, the team that started a job longest ago (round robin);
  then the oldest job. A team that submits 50 jobs at once waits behind a team that submits one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from arena.db import advisory_lock
from arena.models import Challenge, Job, Submission

WINDOW = 200  # queued jobs considered per claim: the oldest ones


def _running(session) -> dict[int, int]:
    return dict(session.execute(
        select(Submission.team_id, func.count(Job.id)).join(Submission, Job.submission_id == Submission.id)
        .where(Job.status == "running").group_by(Submission.team_id)).all())


def _last_started(session, teams: set[int]) -> dict[int, datetime]:
    if not teams:
        return {}
    return dict(session.execute(
        select(Submission.team_id, func.max(Job.started_at)).join(Submission, Job.submission_id == Submission.id)
        .where(Submission.team_id.in_(teams)).group_by(Submission.team_id)).all())


def order(candidates: list[tuple[str, int, datetime, dict]], running: dict[int, int],
          last_started: dict[int, datetime | None]) -> list[tuple[str, int, datetime, dict]]:
    """Candidates (job id, team id, created at, limits) in the order they should start."""
    never = datetime.min
    return sorted(candidates, key=lambda c: (running.get(c[1], 0), last_started.get(c[1]) or never, c[2], c[0]))


def pick(session, *, fits: Callable[[dict], bool], team_cap: int) -> str | None:
    """The id of the job to take now, locked for this transaction; None when none may start."""
    advisory_lock(session, "claim")
    candidates = session.execute(
        select(Job.id, Submission.team_id, Job.created_at, Challenge.limits)
        .join(Submission, Job.submission_id == Submission.id).join(Challenge, Submission.challenge_id == Challenge.id)
        .where(Job.status == "queued").order_by(Job.created_at).limit(WINDOW)).all()
    if not candidates:
        return None
    running = _running(session)
    last = _last_started(session, {c[1] for c in candidates})
    for job_id, team_id, _created, limits in order([tuple(c) for c in candidates], running, last):
        if running.get(team_id, 0) >= team_cap or not fits(limits):
            continue
        locked = session.scalar(select(Job.id).where(Job.id == job_id, Job.status == "queued")
                                .with_for_update(skip_locked=True))
        if locked is not None:
            return locked
    return None
