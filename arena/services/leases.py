"""Leases on running jobs, and what happens when one lapses.

The rules (also in docs/production.md):

- **Held by renewal.** A worker holds a job while its lease has not expired. One lease keeper per
  worker process renews every job it holds, from a thread and a database engine of its own, so
  neither a busy container engine nor a worker's exhausted connection pool can starve it. It
  renews every quarter of the lease, and extends each lease by the larger of `lease_s` and twice
  the longest gap it has recently seen between two of its own renewals: a keeper that is itself
  slowed down asks for time in proportion (bounded by `MAX_STRETCH` leases).
- **Lost means stopped.** When a renewal finds the job no longer its own (a sweep re-queued it),
  the keeper tells the worker at once, which stops the job's container: the verdict would be
  dropped anyway.
- **One re-queue per lapse.** Taking a lapsed job is a conditional update (still running, lease
  still expired), so of the sweeps, dispatchers and workers that notice it, exactly one re-queues
  it; and a submission is re-queued only when it has no result and no other live job.
- **Scored stays scored.** A submission with a result is never re-queued and never failed by a
  later attempt (see evaluation.record).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, exists, select, update

from arena.db import make_engine
from arena.models import Job, Result, Submission
from arena.timeutil import utcnow

if TYPE_CHECKING:
    from arena.runtime import Platform

log = logging.getLogger("arena.leases")
BEATS_PER_LEASE = 4  # renewals per lease length: three may be missed before it lapses
MAX_STRETCH = 10.0  # a lease is never extended by more than this many lease lengths
RECENT = 8  # how many recent gaps between renewals the extension looks at
LIVE = ("queued", "running")


def extension(lease_s: float, recent_gaps: list[float] | tuple[float, ...]) -> float:
    """How far ahead to set a lease: at least `lease_s`, and twice the longest recent gap between
    this keeper's renewals, so a renewal that comes late by that much still finds the lease
    held; never more than MAX_STRETCH leases (a dead worker's jobs must still come back)."""
    longest = max(recent_gaps, default=0.0)
    return min(max(lease_s, 2.0 * longest), MAX_STRETCH * lease_s)


@dataclass
class _Held:
    worker: str
    on_lost: Callable[[], None]


class LeaseKeeper:
    """Renews the leases of the jobs this process holds, from its own thread and engine."""

    def __init__(self, *, database_url: str, lease_s: float, engine: Engine | None = None) -> None:
        self.lease_s = lease_s
        self._url = database_url
        self._engine = engine
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._gaps: deque[float] = deque(maxlen=RECENT)
        self._last_beat: float | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:  # its own engine and pool: made on first use, never at import
            self._engine = make_engine(self._url)
        return self._engine

    @property
    def interval(self) -> float:
        return self.lease_s / BEATS_PER_LEASE

    def current_extension(self) -> float:
        return extension(self.lease_s, tuple(self._gaps))

    def hold(self, job_id: str, *, worker: str, on_lost: Callable[[], None]) -> None:
        with self._lock:
            self._held[job_id] = _Held(worker, on_lost)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="arena-leases", daemon=True)
                self._thread.start()

    def release(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def holding(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                if not self._held:  # idle: end the thread and close its connection
                    self._thread = None
                    if self._engine is not None:
                        self._engine.dispose()
                    return
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the keeper must outlive any one failed beat
                log.exception("lease renewal failed; trying again in %.1f s", self.interval)

    def beat(self) -> None:
        """Renew every held lease once; tell the owner of each lease that was lost."""
        now = time.monotonic()
        if self._last_beat is not None:
            self._gaps.append(now - self._last_beat)
        self._last_beat = now
        with self._lock:
            held = dict(self._held)
        if not held:
            return
        ahead = self.current_extension()
        if ahead > self.lease_s:
            log.warning(
                "lease renewals came up to %.1f s apart (lease %.0f s): extending leases by %.1f s",
                max(self._gaps),
                self.lease_s,
                ahead,
            )
        lost = self._renew(held, until=utcnow() + timedelta(seconds=ahead))
        for job_id in lost:
            log.warning("job %s: lease lost (another worker took it over); stopping its container", job_id)
            self.release(job_id)
            held[job_id].on_lost()

    def _renew(self, held: dict[str, _Held], *, until) -> list[str]:
        lost = []
        with self.engine.begin() as connection:
            for job_id, owner in held.items():
                renewed = connection.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running", Job.worker == owner.worker)
                    .values(lease_expires_at=until)
                ).rowcount
                if renewed != 1:
                    lost.append(job_id)
        return lost


def keeper(platform: Platform) -> LeaseKeeper:
    """This process's lease keeper for `platform` (one per platform, made on first use)."""
    found = platform.memo.get("lease-keeper")
    if found is None:
        found = platform.memo.setdefault(
            "lease-keeper", LeaseKeeper(database_url=platform.settings.database_url, lease_s=platform.settings.lease_s)
        )
    return found


@contextmanager
def held(platform: Platform, *, job_id: str, worker: str, on_lost: Callable[[], None]) -> Iterator[LeaseKeeper]:
    """Keep the job's lease renewed while the body runs; `on_lost` is called if it is taken away."""
    leases = keeper(platform)
    leases.hold(job_id, worker=worker, on_lost=on_lost)
    try:
        yield leases
    finally:
        leases.release(job_id)


# -- lapses and re-queues -------------------------------------------------------------------------
def has_result(session, submission_id: str) -> bool:
    return bool(session.scalar(select(exists().where(Result.submission_id == submission_id))))


def _other_live_job(session, job: Job) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Job.submission_id == job.submission_id, Job.id != job.id, Job.status.in_(LIVE)))
        )
    )


def requeue_or_fail(
    platform: Platform, session, job: Job, *, attempts: int | None = None, failure: tuple[str, str] | None = None
) -> str:
    """After `job` ended without a verdict of the model's (a platform failure or a lapse): queue
    the next attempt, or fail the submission after the last one (never counted against the
    team). Nothing happens to a submission that has a result or another live job. Call with the
    job already marked ended, in the transaction that did so; returns what was done. `attempts`
    (default: the platform's) and `failure` (reason, detail for the team) let a caller such as a
    failed scorer run set its own."""
    submission = session.get(Submission, job.submission_id, with_for_update={"of": Submission})
    if submission.status == "scored" or has_result(session, submission.id):
        return "kept"  # scored stays scored, whatever later attempts do
    if _other_live_job(session, job):
        return "kept"  # someone re-queued this lapse already
    if job.attempt < (platform.settings.max_attempts if attempts is None else attempts):
        session.add(Job(id="job-" + secrets.token_hex(8), submission_id=submission.id, attempt=job.attempt + 1))
        submission.status, submission.updated_at = "queued", utcnow()
        return "requeued"
    submission.status, (submission.failure_reason, submission.failure_detail) = (
        "failed",
        failure
        or (
            "infrastructure",
            "the platform could not run this submission; the organisers have been told, "
            "and it does not count against your quota",
        ),
    )
    submission.updated_at = utcnow()
    return "failed"


def end_if_running(session, job_id: str, *, outcome: str, error: str | None = None, lapsed_before=None) -> bool:
    """Mark a running job ended (`failed`, with `outcome`) if it still runs (and, with
    `lapsed_before`, if its lease expired before then): a conditional update, so of several
    processes that notice the same job, exactly one ends it. Returns whether this one did."""
    condition = [Job.id == job_id, Job.status == "running"]
    if lapsed_before is not None:
        condition.append(Job.lease_expires_at < lapsed_before)
    return (
        session.execute(
            update(Job).where(*condition).values(status="failed", finished_at=utcnow(), outcome=outcome, error=error)
        ).rowcount
        == 1
    )


def recover_expired_jobs(platform: Platform) -> int:
    """Jobs whose lease lapsed (their worker died or stalled) are re-queued, or failed after the
    last attempt; each lapse once, whoever notices it first. Returns how many this call took."""
    now = utcnow()
    with platform.sessions() as session:
        expired = list(session.scalars(select(Job.id).where(Job.status == "running", Job.lease_expires_at < now)))
    taken = 0
    for job_id in expired:
        with platform.transaction() as session:
            if not end_if_running(session, job_id, outcome="lease_expired", lapsed_before=now):
                continue  # another sweep, or its worker's verdict, came first
            done = requeue_or_fail(platform, session, session.get_one(Job, job_id))
        taken += 1
        log.warning(
            "job %s: its lease lapsed; %s",
            job_id,
            {"requeued": "re-queued", "failed": "no attempts left", "kept": "its submission needs no re-run"}[done],
        )
    return taken


# -- jobs that run elsewhere (Slurm), followed by their executor ------------------------------------
def running_elsewhere(platform: Platform, *, executor: str) -> dict[str, str | None]:
    """The running jobs handed to `executor`: {job id: its external id (None until known)}."""
    with platform.sessions() as session:
        rows = session.execute(select(Job.id, Job.external_id).where(Job.status == "running", Job.executor == executor))
        return {job_id: external for job_id, external in rows}


def extend(platform: Platform, *, job_id: str, until) -> None:
    """Renew the lease of a job its executor still sees alive (if it is still running)."""
    with platform.transaction() as session:
        job = session.get_one(Job, job_id)
        if job.status == "running":
            job.lease_expires_at = until


def lapsed_elsewhere(platform: Platform, *, executor: str, since) -> dict[str, str]:
    """Jobs of `executor` re-queued since `since` because their lease lapsed: {job id: external id}."""
    with platform.sessions() as session:
        rows = session.execute(
            select(Job.id, Job.external_id).where(
                Job.executor == executor,
                Job.status == "failed",
                Job.outcome == "lease_expired",
                Job.external_id.is_not(None),
                Job.finished_at >= since,
            )
        )
        return {job_id: external for job_id, external in rows}
