"""Who runs the jobs: one `Executor` interface, one module per executor, chosen by configuration
in one place (`make_executor`, from `Settings.executor`).

- `local`: this machine's container engine, as many jobs at once as its capacity fits;
- `slurm`: the central Slurm cluster, one batch job per evaluation (`arena node-run` on the node);
- `sites`: HPC sites whose agents pull jobs over HTTPS (services/sites.py); centrally there is
  only book-keeping to do;
- `fake`: a seam for tests of what drives an executor (the worker).

The worker (arena/worker.py) drives any of them the same way and never asks which it has.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from arena.evaluation.executors.local import Capacity
    from arena.runtime import Platform

EXECUTORS = ("local", "slurm", "sites")


@runtime_checkable
class Executor(Protocol):
    """What a worker asks of whoever runs the jobs."""

    name: str

    def describe(self) -> str:
        """One line for the worker's log: what runs the jobs, and how many at once."""
        ...

    def sweep(self) -> None:
        """Clean what a crash left (expired leases, job folders, containers, stale uploads)."""
        ...

    def run_once(self) -> bool:
        """Start one job (in this thread where it runs here); False when none could start."""
        ...

    def drain(self) -> int:
        """Run (or follow) jobs until none is queued; returns how many were started."""
        ...

    def step(self) -> bool:
        """One turn of a long-running worker: start what may start; True to step again at once."""
        ...

    def wait(self, stop: threading.Event) -> None:
        """Wait until a step is worth taking again (a job ended, a poll interval passed)."""
        ...

    def close(self) -> None:
        """Let the jobs this process runs finish (the worker is stopping)."""
        ...


def make_executor(platform: Platform, *, name: str, capacity: Capacity | None = None) -> Executor:
    """The executor the configuration names (ARENA_EXECUTOR: local, slurm or sites)."""
    chosen = platform.settings.executor
    if chosen == "slurm":
        from arena.evaluation.executors.slurm import SlurmExecutor

        return SlurmExecutor(platform, name=name)
    if chosen == "sites":
        from arena.evaluation.executors.sites import SitesExecutor

        return SitesExecutor(platform, name=name)
    if chosen == "local":
        from arena.evaluation.executors.local import LocalExecutor

        return LocalExecutor(platform, name=name, capacity=capacity)
    raise ValueError(f"ARENA_EXECUTOR={chosen!r} is no executor; use one of {', '.join(EXECUTORS)}")
