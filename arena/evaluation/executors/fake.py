"""A fake executor: a seam for tests of what drives an executor (the worker). It runs no job; it
hands out the jobs it was given (names) and records what it was asked."""

from __future__ import annotations

import threading


class FakeExecutor:
    def __init__(self, jobs: list[str] | None = None, *, name: str = "fake") -> None:
        self.name = name
        self.jobs = list(jobs or [])
        self.started: list[str] = []
        self.calls: list[str] = []

    def describe(self) -> str:
        return f"a fake executor with {len(self.jobs)} job(s)"

    def sweep(self) -> None:
        self.calls.append("sweep")

    def run_once(self) -> bool:
        self.calls.append("run_once")
        return self._start()

    def drain(self) -> int:
        self.calls.append("drain")
        count = 0
        while self._start():
            count += 1
        return count

    def step(self) -> bool:
        self.calls.append("step")
        return self._start()

    def wait(self, stop: threading.Event) -> None:
        self.calls.append("wait")
        stop.wait(0.01)

    def close(self) -> None:
        self.calls.append("close")

    def _start(self) -> bool:
        if not self.jobs:
            return False
        self.started.append(self.jobs.pop(0))
        return True
