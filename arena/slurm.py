"""The Slurm executor: each evaluation is a batch job on a GPU node.

The dispatcher (`arena worker` with ARENA_EXECUTOR=slurm) takes jobs from the fair queue and hands
each to Slurm with `sbatch`: the challenge's GPUs as GRES, its time limit plus a margin, its CPUs
and memory, the configured partition and account. The batch script, given to sbatch on standard
input (no file on this machine), runs `arena node-run` on the node with a credential valid for
that one job. The node fetches the image and the decrypted inputs, runs the container with the
same sandbox as a local worker, and posts the outcome and predictions back; scoring stays here.
An agent job's environments run on the node too, never with their score files: each item's final
state comes back and is scored here (docs/agent-protocol.md, "Where it runs").

The dispatcher follows its jobs with `squeue` and `scontrol`: while Slurm holds a job, its lease is
renewed; when a Slurm job ends without having sent a result (node failure, preemption, `scancel`,
a Slurm time-out of the whole batch job, a crash of node-run) it is the platform's failure: the
credential is revoked and the job re-queued, never counted against the team. A model that runs
past the challenge's time limit is stopped by node-run's sandbox and reported: that is the model's.
"""

from __future__ import annotations

import getpass
import logging
import math
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from arena.models import Job
from arena.platform import Platform
from arena.services import evaluation, leases, nodes
from arena.timeutil import utcnow

log = logging.getLogger("arena.slurm")
ALIVE = {
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "REQUEUED",
    "RESIZING",
    "STAGE_OUT",
    "SIGNALING",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESV_DEL_HOLD",
    "STOPPED",
}


class SlurmError(Exception):
    """sbatch, squeue or scontrol failed (a platform failure, never the team's)."""


@dataclass(frozen=True)
class BatchRequest:
    name: str
    script: str
    time_minutes: int
    cpus: int
    memory_mb: int
    gpus: int
    partition: str | None = None
    account: str | None = None
    output: str = "/dev/null"


class SlurmCli:
    """The Slurm commands, as a seam: tests may put a fake in its place; production runs these."""

    def __init__(self, sbatch: str = "sbatch") -> None:
        self.sbatch_command = shlex.split(sbatch)

    @staticmethod
    def _run(args: list[str], stdin: str | None = None, timeout: float = 60) -> str:
        try:
            done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SlurmError(f"{args[0]} failed: {exc}") from None
        if done.returncode != 0:
            raise SlurmError(f"{' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[:300]}")
        return done.stdout

    def submit(self, request: BatchRequest) -> str:
        args = [
            *self.sbatch_command,
            "--parsable",
            f"--job-name={request.name}",
            f"--time={request.time_minutes}",
            "--nodes=1",
            "--ntasks=1",
            f"--cpus-per-task={request.cpus}",
            f"--mem={request.memory_mb}M",
            f"--output={request.output}",
            "--no-requeue",
            "--export=NONE",
        ]
        if request.gpus:
            args.append(f"--gres=gpu:{request.gpus}")
        if request.partition:
            args.append(f"--partition={request.partition}")
        if request.account:
            args.append(f"--account={request.account}")
        out = self._run(args, stdin=request.script).strip()
        job_id = out.split(";")[0]
        if not job_id.isdigit():
            raise SlurmError(f"sbatch answered {out[:100]!r}, not a job id")
        return job_id

    def states(self, job_ids: list[str]) -> dict[str, str]:
        """Each job's state (RUNNING, COMPLETED, CANCELLED, NODE_FAIL…); absent when Slurm has
        forgotten it."""
        found: dict[str, str] = {}
        if not job_ids:
            return found
        out = self._run(["squeue", "-h", "-t", "all", "-o", "%i %T", "-j", ",".join(job_ids)])
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                found[parts[0]] = parts[1]
        for job_id in set(job_ids) - set(found):  # finished jobs squeue no longer shows
            try:
                out = self._run(["scontrol", "-o", "show", "job", job_id])
            except SlurmError:
                continue
            for field in out.split():
                if field.startswith("JobState="):
                    found[job_id] = field.split("=", 1)[1]
        return found

    def mine(self, *, prefix: str) -> dict[str, str]:
        """This user's Slurm jobs whose names start with `prefix`: {job id: name}."""
        out = self._run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%i %j"])
        rows = (line.split(None, 1) for line in out.splitlines())
        return {row[0]: row[1] for row in rows if len(row) == 2 and row[1].startswith(prefix)}

    def cancel(self, job_id: str) -> None:
        try:
            self._run(["scancel", job_id])
        except SlurmError as exc:
            log.warning("could not cancel Slurm job %s: %s", job_id, exc)


class SacctmgrCli:
    """`sacctmgr`, as a seam: accounts and their GPU-minute limits in Slurm's accounting database."""

    def __init__(self, command: str = "sacctmgr") -> None:
        self.command = shlex.split(command)

    def _run(self, *args: str) -> str:
        return SlurmCli._run([*self.command, "--immediate", *args])

    def ensure_account(self, name: str, *, description: str) -> None:
        out = self._run("--noheader", "--parsable2", "show", "account", name, "format=Account")
        if name not in out.split():
            self._run("add", "account", name, f"Description={description[:100]}", "Organization=arena")

    def set_gpu_minutes(self, name: str, minutes: int) -> None:
        self._run("modify", "account", f"name={name}", "set", f"GrpTRESMins=gres/gpu={minutes}")

    def gpu_minutes(self, name: str) -> int | None:
        """The account's own GrpTRESMins for gres/gpu (None when unset or no such account)."""
        out = self._run("--noheader", "--parsable2", "show", "assoc", f"account={name}", "format=User,GrpTRESMins")
        for line in out.splitlines():
            user, _, tres = line.partition("|")
            if user:
                continue  # a user's association under the account, not the account's own
            for field in tres.split(","):
                if field.startswith("gres/gpu="):
                    return int(field.split("=", 1)[1])
        return None


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


class SlurmExecutor:
    """Hands queued jobs to Slurm and follows them; any number of these may run at once."""

    def __init__(self, platform: Platform, *, name: str, cli: SlurmCli | None = None) -> None:
        self.platform = platform
        self.name = name
        self.cli = cli or SlurmCli(platform.settings.slurm_sbatch)

    # -- dispatch -------------------------------------------------------------------------------
    def _in_flight(self) -> int:
        with self.platform.sessions() as session:
            return len(session.scalars(select(Job.id).where(Job.status == "running", Job.executor == "slurm")).all())

    def dispatch_one(self) -> bool:
        """Claim the next job and submit it to Slurm; False when none is waiting or room is full."""
        if self._in_flight() >= self.platform.settings.slurm_max_jobs:
            return False
        # An agent job runs here too: its environments run on the node without their score files,
        # and each item's final state comes back to be scored centrally (docs/agent-protocol.md).
        ticket = evaluation.claim_next_job(self.platform, worker=f"slurm:{self.name}")
        if ticket is None:
            return False
        settings = self.platform.settings
        limits = ticket.limits
        lifetime = timedelta(seconds=limits.time_limit_s + settings.slurm_margin_s)
        with self.platform.transaction() as session:
            token = nodes.issue(session, job_id=ticket.job_id, lifetime=lifetime)
            job = session.get_one(Job, ticket.job_id)
            job.executor = "slurm"
            job.lease_expires_at = utcnow() + timedelta(seconds=max(settings.lease_s, 3 * settings.slurm_poll_s))
        request = BatchRequest(
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
        try:
            external = self.cli.submit(request)
        except SlurmError as exc:
            # Stop this pass: a misconfigured partition or account must not burn through the
            # whole queue in one poll (each failure uses up one of a job's attempts).
            log.error("job %s: sbatch failed: %s", ticket.job_id, exc)
            self._give_back(ticket.job_id, f"sbatch failed: {exc}"[:300])
            return False
        with self.platform.transaction() as session:
            session.get_one(Job, ticket.job_id).external_id = external
        log.info(
            "job %s: Slurm job %s (submission %s, attempt %d)",
            ticket.job_id,
            external,
            ticket.submission_id,
            ticket.attempt,
        )
        return True

    # -- following ------------------------------------------------------------------------------
    def follow(self) -> int:
        """Renew the leases of jobs Slurm still holds; re-queue those whose Slurm job ended without
        a result. Returns how many were re-queued."""
        with self.platform.sessions() as session:
            jobs = {
                j.id: j.external_id
                for j in session.scalars(
                    select(Job).where(Job.status == "running", Job.executor == "slurm", Job.external_id.is_not(None))
                )
            }
        if not jobs:
            return 0
        try:
            states = self.cli.states(list(jobs.values()))
        except SlurmError as exc:
            log.warning("could not read the Slurm queue: %s", exc)
            return 0
        requeued = 0
        until = utcnow() + timedelta(
            seconds=max(self.platform.settings.lease_s, 3 * self.platform.settings.slurm_poll_s)
        )
        for job_id, external in jobs.items():
            state = states.get(external, "UNKNOWN").split()[0].rstrip("+")
            if state in ALIVE:
                with self.platform.transaction() as session:
                    job = session.get_one(Job, job_id)
                    if job.status == "running":
                        job.lease_expires_at = until
                continue
            requeued += self._give_back(job_id, f"Slurm job {external} ended {state} before sending a result")
        return requeued

    def _give_back(self, job_id: str, reason: str) -> int:
        """The platform's failure: revoke the credential, re-queue the job (or fail it after the
        last attempt, never against the team's quota)."""
        with self.platform.transaction() as session:
            nodes.revoke(session, job_id=job_id)
            # A conditional update: not at the same time as its result, nor as a lapse's re-queue.
            if not leases.end_if_running(session, job_id, outcome="infrastructure", error=reason):
                return 0  # its result came in meanwhile, or a sweep took it
            leases.requeue_or_fail(self.platform, session, session.get_one(Job, job_id))
        log.warning("job %s: %s; re-queued", job_id, reason)
        return 1

    def cancel_orphans(self) -> int:
        """Slurm jobs whose Arena job was re-queued because its lease lapsed (no dispatcher
        followed it for a while): cancel them, so they do not hold GPUs for nothing. Their
        credentials are refused already: their jobs are no longer running."""
        since = utcnow() - timedelta(hours=1)
        with self.platform.sessions() as session:
            orphans = {
                j.id: j.external_id
                for j in session.scalars(
                    select(Job).where(
                        Job.executor == "slurm",
                        Job.status == "failed",
                        Job.outcome == "lease_expired",
                        Job.external_id.is_not(None),
                        Job.finished_at >= since,
                    )
                )
            }
        if not orphans:
            return 0
        try:
            states = self.cli.states(list(orphans.values()))
        except SlurmError:
            return 0
        cancelled = 0
        for job_id, external in orphans.items():
            if states.get(external, "UNKNOWN").split()[0].rstrip("+") in ALIVE:
                self.cli.cancel(external)
                with self.platform.transaction() as session:
                    nodes.revoke(session, job_id=job_id)
                log.warning("job %s: cancelled its orphaned Slurm job %s", job_id, external)
                cancelled += 1
        return cancelled

    def step(self) -> bool:
        """Follow, then dispatch while there is work and room; True when it dispatched any."""
        self.follow()
        self.cancel_orphans()
        dispatched = False
        while self.dispatch_one():
            dispatched = True
        return dispatched
