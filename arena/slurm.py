"""The Slurm commands (`sbatch`, `squeue`, `scontrol`, `scancel`, `sacctmgr`), as seams: the
central Slurm executor (arena/evaluation/executors/slurm.py), the site agent and `arena rewards
grant` use them; tests may put fakes in their place.
"""

from __future__ import annotations

import getpass
import logging
import shlex
import subprocess
from dataclasses import dataclass

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
