"""The Slurm executor: each evaluation is a batch job on a GPU node.

The dispatcher (`arena worker` with ARENA_EXECUTOR=slurm) takes jobs from the fair queue and hands
each to Slurm with `sbatch` (arena/slurm.py: the Slurm commands): the challenge's GPUs as GRES,
its time limit plus a margin, its CPUs and memory, the configured partition and account. The batch
script, given to sbatch on standard input (no file on this machine), runs `arena node-run` on the
node with a credential valid for that one job. The node fetches the image and the decrypted
inputs, runs the container with the same sandbox as a local worker (`sandbox.run_job`), and posts
the outcome and predictions back; scoring stays here (arena/evaluation/remote.py). An agent job's
environments run on the node too, never with their score files: each item's final state comes
back and is scored here (docs/agent-protocol.md, "Where it runs").

The dispatcher follows its jobs with `squeue` and `scontrol`: while Slurm holds a job, its lease is
renewed; when a Slurm job ends without having sent a result (node failure, preemption, `scancel`,
a Slurm time-out of the whole batch job, a crash of node-run) it is the platform's failure: the
credential is revoked and the job re-queued, never counted against the team. A model that runs
past the challenge's time limit is stopped by node-run's sandbox and reported: that is the model's.
"""

from __future__ import annotations

import logging
import math
import shlex
import shutil
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from arena import evaluation
from arena.evaluation.sweeping import sweep_books
from arena.runtime import Platform
from arena.services import leases, nodes, queue
from arena.slurm import ALIVE, BatchRequest, SlurmCli, SlurmError
from arena.timeutil import utcnow

log = logging.getLogger("arena.slurm")


def node_command(platform: Platform) -> str:
    configured = platform.settings.slurm_node_command
    if configured:
        return configured
    beside = Path(sys.executable).parent / "arena"
    return shlex.quote(str(beside)) if beside.exists() else (shutil.which("arena") or "arena")


def batch_script(platform: Platform, *, job_id: str, token: str) -> str:
    """The batch script: node-run with the job's credential in its environment, nothing else."""
    return "\n".join(
        [
            "#!/bin/sh",
            "# Arena evaluation job: runs one container on this node and sends its predictions back.",
            "set -e",
            f"export ARENA_NODE_URL={shlex.quote(platform.settings.node_url)}",
            f"export ARENA_NODE_JOB={shlex.quote(job_id)}",
            f"export ARENA_NODE_TOKEN={shlex.quote(token)}",
            f"exec {node_command(platform)} node-run",
            "",
        ]
    )


def environments_mb(platform: Platform, ticket: evaluation.Ticket) -> int:
    """An agent job's environments on the node: as many at once as the driver's concurrency, each
    with its memory and its working directory (a tmpfs), and the captured final states."""
    if ticket.environment is None or ticket.session_limits is None:
        return 0
    each = ticket.environment.limits.memory_mb + ticket.environment.agent.workdir_mb
    return ticket.session_limits.concurrency * each + evaluation.capture_bytes(platform, ticket) // 1024**2


def slurm_state(states: dict[str, str], external: str) -> str:
    """A Slurm job's state, bare (RUNNING, CANCELLED…); UNKNOWN when Slurm has forgotten it."""
    return states.get(external, "UNKNOWN").split()[0].rstrip("+")


class SlurmExecutor:
    """Hands queued jobs to Slurm and follows them; any number of these may run at once."""

    def __init__(self, platform: Platform, *, name: str, cli: SlurmCli | None = None) -> None:
        self.platform = platform
        self.name = name
        self.cli = cli or SlurmCli(platform.settings.slurm_sbatch)

    def describe(self) -> str:
        return f"dispatching to Slurm (at most {self.platform.settings.slurm_max_jobs} jobs in flight)"

    def sweep(self) -> None:
        sweep_books(self.platform)  # this machine runs no containers: the nodes do

    def run_once(self) -> bool:
        leases.recover_expired_jobs(self.platform)
        return self.dispatch_one()

    def drain(self) -> int:
        """Hand every queued job to Slurm and follow them until none is queued or in flight."""
        dispatched = 0
        while True:
            leases.recover_expired_jobs(self.platform)
            while self.dispatch_one():
                dispatched += 1
            self.follow()
            if not queue.unfinished(self.platform):
                return dispatched
            time.sleep(self.platform.settings.slurm_poll_s)

    def step(self) -> bool:
        """Follow, then dispatch while there is work and room; never asks to step again at once."""
        self.follow()
        self.cancel_orphans()
        while self.dispatch_one():
            pass
        return False

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.platform.settings.slurm_poll_s)

    def close(self) -> None:
        """Nothing runs in this process: Slurm holds the jobs, a later dispatcher follows them."""

    # -- dispatch -------------------------------------------------------------------------------
    def _lease_s(self) -> float:
        settings = self.platform.settings
        return max(settings.lease_s, 3 * settings.slurm_poll_s)

    def dispatch_one(self) -> bool:
        """Claim the next job and submit it to Slurm; False when none is waiting or room is full."""
        if len(leases.running_elsewhere(self.platform, executor="slurm")) >= self.platform.settings.slurm_max_jobs:
            return False
        # An agent job runs here too: its environments run on the node without their score files,
        # and each item's final state comes back to be scored centrally (docs/agent-protocol.md).
        ticket = evaluation.claim_next_job(self.platform, worker=f"slurm:{self.name}")
        if ticket is None:
            return False
        lifetime = timedelta(seconds=ticket.limits.time_limit_s + self.platform.settings.slurm_margin_s)
        token = nodes.hand_over(
            self.platform, job_id=ticket.job_id, executor="slurm", lifetime=lifetime, lease_s=self._lease_s()
        )
        try:
            external = self.cli.submit(self.request(ticket, token))
        except SlurmError as exc:
            # Stop this pass: a misconfigured partition or account must not burn through the
            # whole queue in one poll (each failure uses up one of a job's attempts).
            log.error("job %s: sbatch failed: %s", ticket.job_id, exc)
            self._give_back(ticket.job_id, f"sbatch failed: {exc}"[:300])
            return False
        nodes.set_external(self.platform, job_id=ticket.job_id, external_id=external)
        log.info(
            "job %s: Slurm job %s (submission %s, attempt %d)",
            ticket.job_id,
            external,
            ticket.submission_id,
            ticket.attempt,
        )
        return True

    def request(self, ticket: evaluation.Ticket, token: str) -> BatchRequest:
        """The batch job of one evaluation: node-run with the job's credential, sized for it."""
        settings, limits = self.platform.settings, ticket.limits
        return BatchRequest(
            name=f"arena-{ticket.job_id}",
            script=batch_script(self.platform, job_id=ticket.job_id, token=token),
            time_minutes=math.ceil((limits.time_limit_s + settings.slurm_margin_s) / 60),
            # the container, node-run and its staging (512 MiB), and the staged assets in memory
            cpus=max(1, math.ceil(limits.cpus)),
            gpus=limits.gpus,
            memory_mb=limits.memory_mb + 512 + limits.folder_mb + environments_mb(self.platform, ticket),
            partition=settings.slurm_partition,
            account=settings.slurm_account,
            output=f"{settings.slurm_log_dir}/arena-%j.out",
        )

    # -- following ------------------------------------------------------------------------------
    def follow(self) -> int:
        """Renew the leases of jobs Slurm still holds; re-queue those whose Slurm job ended without
        a result. Returns how many were re-queued."""
        jobs = {j: e for j, e in leases.running_elsewhere(self.platform, executor="slurm").items() if e is not None}
        if not jobs:
            return 0
        try:
            states = self.cli.states(list(jobs.values()))
        except SlurmError as exc:
            log.warning("could not read the Slurm queue: %s", exc)
            return 0
        requeued = 0
        until = utcnow() + timedelta(seconds=self._lease_s())
        for job_id, external in jobs.items():
            state = slurm_state(states, external)
            if state in ALIVE:
                leases.extend(self.platform, job_id=job_id, until=until)
            else:
                requeued += self._give_back(job_id, f"Slurm job {external} ended {state} before sending a result")
        return requeued

    def _give_back(self, job_id: str, reason: str) -> int:
        """The platform's failure: the job re-queued (or failed after its last attempt)."""
        if not nodes.give_back(self.platform, job_id=job_id, reason=reason):
            return 0  # its result came in meanwhile, or a sweep took it
        log.warning("job %s: %s; re-queued", job_id, reason)
        return 1

    def cancel_orphans(self) -> int:
        """Slurm jobs whose Arena job was re-queued because its lease lapsed (no dispatcher
        followed it for a while): cancel them, so they do not hold GPUs for nothing. Their
        credentials are refused already: their jobs are no longer running."""
        since = utcnow() - timedelta(hours=1)
        orphans = leases.lapsed_elsewhere(self.platform, executor="slurm", since=since)
        if not orphans:
            return 0
        try:
            states = self.cli.states(list(orphans.values()))
        except SlurmError:
            return 0
        cancelled = 0
        for job_id, external in orphans.items():
            if slurm_state(states, external) in ALIVE:
                self.cli.cancel(external)
                nodes.revoke_job(self.platform, job_id=job_id)
                log.warning("job %s: cancelled its orphaned Slurm job %s", job_id, external)
                cancelled += 1
        return cancelled
