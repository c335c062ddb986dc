"""The evaluation worker: in a thread of `arena serve`, or alone as `arena worker`.

It runs as many jobs at once as its CPU, memory and GPU capacity allows, never more: a job is
claimed only when its challenge's limits fit what is free.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from arena.platform import Platform
from arena.services import evaluation, leases, rounds
from sandbox import Limits

log = logging.getLogger("arena.worker")
SWEEP_EVERY_S = 60.0


def _machine_memory_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 4096


@dataclass
class Capacity:
    """What a worker may hand out at once; taken by running jobs, given back when they end."""

    cpus: float
    memory_mb: int
    gpus: int

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def fits(self, limits: Limits) -> bool:
        with self._lock:
            return (
                limits.cpus <= self.cpus + 1e-9
                and limits.memory_mb + limits.folder_mb <= self.memory_mb
                and limits.gpus <= self.gpus
            )

    def take(self, limits: Limits) -> None:
        with self._lock:
            self.cpus -= limits.cpus
            self.memory_mb -= limits.memory_mb + limits.folder_mb  # the container's, and its staged assets
            self.gpus -= limits.gpus

    def give(self, limits: Limits) -> None:
        with self._lock:
            self.cpus += limits.cpus
            self.memory_mb += limits.memory_mb + limits.folder_mb
            self.gpus += limits.gpus


def machine_capacity(platform: Platform) -> Capacity:
    settings = platform.settings
    gpus = getattr(getattr(platform.runner, "gpus", None), "total", 0)
    return Capacity(
        cpus=settings.worker_cpus or float(os.cpu_count() or 1),
        memory_mb=settings.worker_memory_mb or _machine_memory_mb() * 3 // 4,
        gpus=gpus,
    )


class Worker:
    def __init__(self, platform: Platform, *, name: str | None = None, capacity: Capacity | None = None) -> None:
        self.platform = platform
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.capacity = capacity or machine_capacity(platform)
        self._finished = threading.Event()

    @property
    def on_slurm(self) -> bool:
        return self.platform.settings.executor == "slurm"

    @property
    def on_sites(self) -> bool:
        """Site agents pull the jobs (services/sites.py): this process only keeps the books."""
        return self.platform.settings.executor == "sites"

    def start_up(self) -> None:
        """Clean what a crashed run left: expired leases, job folders, containers."""
        if self.on_slurm or self.on_sites:  # this machine runs no containers: the nodes do
            from arena.services.uploads import sweep_stale

            leases.recover_expired_jobs(self.platform)
            sweep_stale(self.platform)
            return
        evaluation.sweep(self.platform)

    def run_once(self) -> bool:
        """Claim and run one job in this thread; False when none was queued."""
        leases.recover_expired_jobs(self.platform)
        return evaluation.run_one(self.platform, worker=self.name)

    def drain(self) -> int:
        """Run jobs one after another until the queue is empty; returns how many ran."""
        if self.on_slurm:
            return self._drain_slurm()
        if self.on_sites:  # the agents run the jobs
            leases.recover_expired_jobs(self.platform)
            rounds.finalize_due(self.platform)
            return 0
        count = 0
        while self.run_once():
            count += 1
        rounds.finalize_due(self.platform)
        return count

    def _run(self, ticket: evaluation.Ticket) -> None:
        try:
            evaluation.run_ticket(self.platform, ticket)
        except Exception:
            log.exception("job %s: error outside the evaluation; its lease will expire", ticket.job_id)
        finally:
            self.capacity.give(ticket.limits)
            self._finished.set()

    def _claim(self) -> evaluation.Ticket | None:
        ticket = evaluation.claim_next_job(self.platform, worker=self.name, fits=self.capacity.fits)
        if ticket is not None:
            self.capacity.take(ticket.limits)
        return ticket

    def _drain_slurm(self) -> int:
        """Hand every queued job to Slurm and follow them until none is queued or in flight."""
        from sqlalchemy import func, select

        from arena.models import Job
        from arena.slurm import SlurmExecutor

        executor, dispatched = SlurmExecutor(self.platform, name=self.name), 0
        while True:
            leases.recover_expired_jobs(self.platform)
            while executor.dispatch_one():
                dispatched += 1
            executor.follow()
            with self.platform.sessions() as session:
                left = session.scalar(select(func.count(Job.id)).where(Job.status.in_(("queued", "running"))))
            if not left:
                break
            time.sleep(self.platform.settings.slurm_poll_s)
        rounds.finalize_due(self.platform)
        return dispatched

    def _dispatch_forever(self, stop: threading.Event) -> None:
        from arena.slurm import SlurmExecutor

        executor = SlurmExecutor(self.platform, name=self.name)
        log.info(
            "worker %s started: dispatching to Slurm (at most %d jobs in flight)",
            self.name,
            self.platform.settings.slurm_max_jobs,
        )
        next_sweep = time.monotonic() + SWEEP_EVERY_S
        while not stop.is_set():
            try:
                leases.recover_expired_jobs(self.platform)
                rounds.finalize_due(self.platform)
                executor.step()
                if time.monotonic() > next_sweep:
                    from arena.services.uploads import sweep_stale

                    sweep_stale(self.platform)
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
            except Exception:
                log.exception("dispatcher loop error; continuing")
            stop.wait(self.platform.settings.slurm_poll_s)
        log.info("worker %s stopped", self.name)

    def _keep_books_forever(self, stop: threading.Event) -> None:
        """With site agents: re-queue lapsed leases (a lost agent's jobs), close rounds, sweep
        stale uploads; the agents claim and run the jobs."""
        from arena.services.uploads import sweep_stale

        log.info("worker %s started: site agents run the jobs; this one keeps leases and rounds", self.name)
        next_sweep = time.monotonic()
        while not stop.is_set():
            try:
                leases.recover_expired_jobs(self.platform)
                rounds.finalize_due(self.platform)
                if time.monotonic() > next_sweep:
                    sweep_stale(self.platform)
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
            except Exception:
                log.exception("book-keeping loop error; continuing")
            stop.wait(self.platform.settings.worker_poll_s)
        log.info("worker %s stopped", self.name)

    def run_forever(self, stop: threading.Event) -> None:
        """Keep claiming jobs that fit the free capacity and run them side by side (or, with the
        Slurm executor, hand them to Slurm and follow them)."""
        self.start_up()
        if self.on_slurm:
            return self._dispatch_forever(stop)
        if self.on_sites:
            return self._keep_books_forever(stop)
        log.info(
            "worker %s started (capacity: %.1f CPUs, %d MiB, %d GPUs)",
            self.name,
            self.capacity.cpus,
            self.capacity.memory_mb,
            self.capacity.gpus,
        )
        slots = max(1, int(self.capacity.cpus * 10))
        next_sweep = time.monotonic() + SWEEP_EVERY_S
        with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="arena-job") as pool:
            while not stop.is_set():
                try:
                    if time.monotonic() > next_sweep:  # what a crashed peer left behind
                        evaluation.sweep(self.platform)
                        next_sweep = time.monotonic() + SWEEP_EVERY_S
                    leases.recover_expired_jobs(self.platform)
                    rounds.finalize_due(self.platform)  # rounds past their end, once their jobs are done
                    ticket = self._claim()
                except Exception:
                    log.exception("worker loop error; continuing")
                    ticket = None
                if ticket is not None:
                    pool.submit(self._run, ticket)
                    continue
                self._finished.wait(self.platform.settings.worker_poll_s)
                self._finished.clear()
        log.info("worker %s stopped", self.name)
