"""Claiming a job: the next one in the fair queue's order that an executor accepts and that fits
its free capacity, taken under a lease (arena/services/leases.py keeps it)."""

from __future__ import annotations

import logging
import platform as _platform_module
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from arena.evaluation.job import Ticket, ticket_for
from arena.models import Job, Submission
from arena.runtime import Platform
from arena.services import queue
from arena.timeutil import utcnow
from sandbox import Limits, limits_from

log = logging.getLogger("arena.evaluation")


def _fits_anything(_limits: Limits) -> bool:
    return True


HOST_ARCHITECTURE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
    _platform_module.machine().lower(), _platform_module.machine().lower()
)


def runs_here(needs: dict) -> bool:
    """Whether this machine's engine (or the central Slurm cluster) can run a job: its image is
    built for this machine's architecture."""
    return needs.get("architecture", "amd64") == HOST_ARCHITECTURE


def claim_next_job(
    platform: Platform,
    *,
    worker: str,
    fits: Callable[[Limits], bool] = _fits_anything,
    accepts: Callable[[dict], bool] = runs_here,
) -> Ticket | None:
    """Take the next queued job, in the fair queue's order (arena/services/queue.py), that this
    executor `accepts` (its requirements: queue.needs) and whose limits `fits` the worker's free
    capacity, with a lease. None when none may start now."""
    try:
        with platform.transaction() as session:
            job_id = queue.pick(
                session,
                fits=lambda needs: accepts(needs) and fits(limits_from(needs)),
                team_cap=platform.settings.team_max_running,
            )
            return _take(platform, session, job_id, worker) if job_id else None
    except OperationalError:
        log.info("job claim collided with another writer; trying again later")
        return None


def _take(platform: Platform, session, job_id: str, worker: str) -> Ticket | None:
    job = session.get(Job, job_id)
    submission = session.get(Submission, job.submission_id)
    now = utcnow()
    lease = now + timedelta(seconds=platform.settings.lease_s)
    taken = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", worker=worker, started_at=now, lease_expires_at=lease)
    ).rowcount
    if taken != 1:
        return None
    submission.status, submission.updated_at = "running", now
    return ticket_for(session, job, worker=worker)
