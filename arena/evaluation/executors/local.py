"""The local executor: jobs run on this machine's container engine, as many at once as its CPU,
memory and GPU capacity allows, never more: a job is claimed only when its limits fit what is free.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from arena import evaluation
from arena.runtime import Platform
from arena.services import leases
from sandbox import Limits

log = logging.getLogger("arena.worker")


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


class LocalExecutor:
    """Runs jobs on this machine's engine, each in a thread of its own, within its capacity."""

    def __init__(self, platform: Platform, *, name: str, capacity: Capacity | None = None) -> None:
        self.platform = platform
        self.name = name
        self.capacity = capacity or machine_capacity(platform)
        self._finished = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._slots = max(1, int(self.capacity.cpus * 10))

    def describe(self) -> str:
        free = self.capacity
        return f"capacity: {free.cpus:.1f} CPUs, {free.memory_mb} MiB, {free.gpus} GPUs"

    def sweep(self) -> None:
        evaluation.sweep(self.platform)

    def run_once(self) -> bool:
        leases.recover_expired_jobs(self.platform)
        return evaluation.run_one(self.platform, worker=self.name)

    def drain(self) -> int:
        count = 0
        while self.run_once():
            count += 1
        return count

    def step(self) -> bool:
        """Claim a job that fits the free capacity and start it in a thread; True when one started."""
        ticket = evaluation.claim_next_job(self.platform, worker=self.name, fits=self.capacity.fits)
        if ticket is None:
            return False
        self.capacity.take(ticket.limits)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._slots, thread_name_prefix="arena-job")
        self._pool.submit(self._run, ticket)
        return True

    def _run(self, ticket: evaluation.Ticket) -> None:
        try:
            evaluation.run_ticket(self.platform, ticket)
        except Exception:
            log.exception("job %s: error outside the evaluation; its lease will expire", ticket.job_id)
        finally:
            self.capacity.give(ticket.limits)
            self._finished.set()

    def wait(self, stop: threading.Event) -> None:
        self._finished.wait(self.platform.settings.worker_poll_s)
        self._finished.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
