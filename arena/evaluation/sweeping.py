"""Sweeping what a crash left: expired leases (their jobs re-queued), job folders and containers
that belong to no live job, stale uploads."""

from __future__ import annotations

import logging

from sqlalchemy import select

from arena.models import Job
from arena.runtime import Platform
from arena.services import leases
from arena.services.uploads import sweep_stale
from arena.timeutil import utcnow
from sandbox import sweep_job_folders

log = logging.getLogger("arena.evaluation")


def live_job_ids(platform: Platform) -> set[str]:
    now = utcnow()
    with platform.sessions() as session:
        return set(session.scalars(select(Job.id).where(Job.status == "running", Job.lease_expires_at >= now)))


def sweep(platform: Platform) -> None:
    """Remove job folders and containers that belong to no live job (after a crash). Several
    workers may sweep at once: whatever another one removed first counts as removed."""
    leases.recover_expired_jobs(platform)
    root = platform.settings.job_root
    # List the folders first, then read which jobs are live: a job claimed in between is either
    # live in that read or has a folder made after the listing, so no live folder is removed.
    found = {p.name for p in root.iterdir()} if root.exists() else set()
    keep = live_job_ids(platform)
    sweep_job_folders(root, keep=keep, only=found)
    removed = platform.runner.sweep(keep=keep)
    sweep_stale(platform)
    if removed:
        log.info("removed %d container(s) left by an earlier run", removed)


def sweep_books(platform: Platform) -> None:
    """Where this machine runs no containers (the nodes do): expired leases and stale uploads."""
    leases.recover_expired_jobs(platform)
    sweep_stale(platform)
