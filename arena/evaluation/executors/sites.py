"""The sites executor: HPC sites' agents pull the jobs over HTTPS (services/sites.py) and run them
on their own Slurm; the central side only keeps the books: lapsed leases (a lost agent's jobs)
re-queued, stale uploads swept. Nothing connects into a site."""

from __future__ import annotations

import threading

from arena.evaluation.sweeping import sweep_books
from arena.runtime import Platform
from arena.services import leases


class SitesExecutor:
    """Runs nothing here: the site agents claim and run the jobs."""

    def __init__(self, platform: Platform, *, name: str) -> None:
        self.platform = platform
        self.name = name

    def describe(self) -> str:
        return "site agents run the jobs; this one keeps leases and rounds"

    def sweep(self) -> None:
        sweep_books(self.platform)

    def run_once(self) -> bool:
        leases.recover_expired_jobs(self.platform)
        return False

    def drain(self) -> int:
        leases.recover_expired_jobs(self.platform)
        return 0

    def step(self) -> bool:
        return False

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.platform.settings.worker_poll_s)

    def close(self) -> None:
        """Nothing runs in this process."""
