"""The fair queue: which queued job a worker takes next.

- **One job, one worker.** Claims run one at a time (a transaction-level advisory lock on
  PostgreSQL; SQLite has one writer anyway), the job row is locked with `FOR UPDATE SKIP LOCKED`,
  and the update that takes it checks it is still queued.
- **A per-team cap.** A team never has more than `team_max_running` jobs running at once, on all
  workers together; its other jobs wait even when workers are free, so a burst from one team cannot
  fill the machines.
- **Fair order between teams.** Among the jobs that may start, the one whose team has the fewest
  jobs running goes first; among equals, the job that has waited longest. A team that submits a
  burst gets one job running, then waits behind every team that has none running.
  Each claim looks at every team's oldest few queued jobs, so a burst of any size from one team
  never hides another team's jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from arena.db import advisory_lock
from arena.models import Challenge, HiddenSet, Image, Job, Submission
from arena.services.assets import folder_mb

if TYPE_CHECKING:
    from arena.runtime import Platform

HEADS = 3  # of each team's queued jobs, the oldest few are considered (if the first does not fit)


def _running(session) -> dict[int, int]:
    return dict(
        session.execute(
            select(Submission.team_id, func.count(Job.id))
            .join(Submission, Job.submission_id == Submission.id)
            .where(Job.status == "running")
            .group_by(Submission.team_id)
        ).all()
    )


def order(
    candidates: list[tuple[str, int, datetime, dict]], running: dict[int, int]
) -> list[tuple[str, int, datetime, dict]]:
    """Candidates (job id, team id, created at, limits) in the order they should start: the teams
    with the fewest jobs running first; among them, the job that has waited longest."""
    return sorted(candidates, key=lambda c: (running.get(c[1], 0), c[2], c[0]))


def needs(limits: dict, staged_mb: int, architecture: str, hardware: dict | None, protocol: str = "batch") -> dict:
    """A queued job's requirements, as `fits` sees them (its protocol: site agents leave an agent
    challenge's jobs to central workers and the Slurm executor)."""
    vendors = (hardware or {}).get("gpu_vendors") or ["nvidia"]
    return {
        **limits,
        "folder_mb": staged_mb,
        "architecture": architecture or "amd64",
        "gpu_vendors": vendors,
        "protocol": protocol,
    }


def pick(session, *, fits: Callable[[dict], bool], team_cap: int) -> str | None:
    """The id of the job to take now, locked for this transaction; None when none may start."""
    advisory_lock(session, "claim")
    place = func.row_number().over(partition_by=Submission.team_id, order_by=(Job.created_at, Job.id)).label("place")
    queued = (
        select(
            Job.id.label("job_id"),
            Submission.team_id.label("team_id"),
            Job.created_at.label("created_at"),
            Challenge.limits.label("limits"),
            Submission.kind.label("kind"),
            HiddenSet.assets_bytes.label("assets_bytes"),
            Image.architecture.label("architecture"),
            Challenge.hardware.label("hardware"),
            Challenge.protocol.label("protocol"),
            place,
        )
        .join(Submission, Job.submission_id == Submission.id)
        .join(Challenge, Submission.challenge_id == Challenge.id)
        .join(HiddenSet, Submission.hidden_set_id == HiddenSet.id)
        .outerjoin(Image, Submission.image_digest == Image.digest)
        .where(Job.status == "queued")
        .subquery()
    )
    # Each team's oldest few, not the oldest jobs overall: a burst of thousands from one team
    # must not hide every other team's jobs from the claim.
    rows = session.execute(
        select(
            queued.c.job_id,
            queued.c.team_id,
            queued.c.created_at,
            queued.c.limits,
            queued.c.kind,
            queued.c.assets_bytes,
            queued.c.architecture,
            queued.c.hardware,
            queued.c.protocol,
        ).where(queued.c.place <= HEADS)
    ).all()
    if not rows:
        return None
    # What a job needs: the challenge's limits, the memory its staged assets take, the image's
    # architecture and the GPU vendors the challenge allows (where it may run: services/sites.py).
    candidates = [
        (job_id, team, created, needs(limits, folder_mb(assets_bytes=assets, kind=kind), arch, hardware, protocol))
        for job_id, team, created, limits, kind, assets, arch, hardware, protocol in rows
    ]
    running = _running(session)
    for job_id, team_id, _created, limits in order(candidates, running):
        if running.get(team_id, 0) >= team_cap or not fits(limits):
            continue
        locked = session.scalar(
            select(Job.id).where(Job.id == job_id, Job.status == "queued").with_for_update(skip_locked=True)
        )
        if locked is not None:
            return locked
    return None


def queued_needs(session, submission_ids: list[str]) -> dict[str, dict]:
    """The requirements of the queued jobs of these submissions, by submission id."""
    rows = session.execute(
        select(
            Job.submission_id,
            Challenge.limits,
            Submission.kind,
            HiddenSet.assets_bytes,
            Image.architecture,
            Challenge.hardware,
            Challenge.protocol,
        )
        .join(Submission, Job.submission_id == Submission.id)
        .join(Challenge, Submission.challenge_id == Challenge.id)
        .join(HiddenSet, Submission.hidden_set_id == HiddenSet.id)
        .outerjoin(Image, Submission.image_digest == Image.digest)
        .where(Job.status == "queued", Job.submission_id.in_(submission_ids))
    ).all()
    return {
        sid: needs(limits, folder_mb(assets_bytes=assets, kind=kind), arch, hardware, protocol)
        for sid, limits, kind, assets, arch, hardware, protocol in rows
    }


def unfinished(platform: Platform) -> int:
    """How many jobs are queued or running."""
    with platform.sessions() as session:
        return session.scalar(select(func.count(Job.id)).where(Job.status.in_(("queued", "running")))) or 0
