"""The evaluation worker: in a thread of `arena serve`, or alone as `arena worker`.

It drives whichever executor the configuration names (arena/evaluation/executors: this machine's
engine, central Slurm, or site agents) the same way, and keeps the books around it: lapsed leases
re-queued, what a crash left swept, rounds past their end closed once their jobs are done.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from arena.evaluation.executors import Executor, make_executor
from arena.evaluation.executors.local import Capacity, machine_capacity
from arena.runtime import Platform
from arena.services import leases, rounds

__all__ = ["Capacity", "SWEEP_EVERY_S", "Worker", "machine_capacity"]

log = logging.getLogger("arena.worker")
SWEEP_EVERY_S = 60.0


class Worker:
    def __init__(
        self,
        platform: Platform,
        *,
        name: str | None = None,
        capacity: Capacity | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.platform = platform
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.executor = executor or make_executor(platform, name=self.name, capacity=capacity)

    def start_up(self) -> None:
        """Clean what a crashed run left: expired leases, job folders, containers, stale uploads."""
        self.executor.sweep()

    def run_once(self) -> bool:
        """Start one job in this thread; False when none could start."""
        return self.executor.run_once()

    def drain(self) -> int:
        """Run jobs until the queue is empty, then close the rounds that are due; returns how many
        jobs were started."""
        count = self.executor.drain()
        rounds.finalize_due(self.platform)
        return count

    def _turn(self) -> bool:
        leases.recover_expired_jobs(self.platform)
        rounds.finalize_due(self.platform)  # rounds past their end, once their jobs are done
        return self.executor.step()

    def run_forever(self, stop: threading.Event) -> None:
        """Keep starting jobs as the executor allows until `stop` is set; then let this process's
        jobs finish."""
        self.start_up()
        log.info("worker %s started (%s)", self.name, self.executor.describe())
        next_sweep = time.monotonic() + SWEEP_EVERY_S
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() > next_sweep:  # what a crashed peer left behind
                        self.executor.sweep()
                        next_sweep = time.monotonic() + SWEEP_EVERY_S
                    again = self._turn()
                except Exception:
                    log.exception("worker loop error; continuing")
                    again = False
                if not again:
                    self.executor.wait(stop)
        finally:
            self.executor.close()
        log.info("worker %s stopped", self.name)
