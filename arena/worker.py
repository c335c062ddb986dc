"""The evaluation worker loop: in a thread of `arena serve`, or alone as `arena worker`."""

from __future__ import annotations

import logging
import os
import socket
import threading

from arena.platform import Platform
from arena.services import evaluation

log = logging.getLogger("arena.worker")


class Worker:
    def __init__(self, platform: Platform, *, name: str | None = None) -> None:
        self.platform = platform
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def start_up(self) -> None:
        """Clean what a crashed run left: expired leases, job folders, containers."""
        evaluation.sweep(self.platform)

    def run_once(self) -> bool:
        evaluation.recover_expired_jobs(self.platform)
        return evaluation.run_one(self.platform, worker=self.name)

    def drain(self) -> int:
        """Run jobs until the queue is empty; returns how many ran (for tests and tools)."""
        count = 0
        while self.run_once():
            count += 1
        return count

    def run_forever(self, stop: threading.Event) -> None:
        self.start_up()
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker loop error; continuing")
                busy = False
            if not busy:
                stop.wait(self.platform.settings.worker_poll_s)
        log.info("worker %s stopped", self.name)
