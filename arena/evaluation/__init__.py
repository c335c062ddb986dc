"""The path of one job: claimed under a lease, staged, run, scored, recorded; crashes swept.

- `claiming`: the next job in the fair queue's order that an executor accepts and can fit.
- `staging`: the job's memory folder, its inputs and assets decrypted into it.
- `running`: a job run on this machine's engine (the run itself is `sandbox.run_job`, the same
  function `arena node-run` uses on a GPU node); `remote`: a node's run, finished here.
- `scoring`: predictions checked and scored by the built-in metric; `scorer`: by the organiser's
  scoring container. Labels exist only here, in memory, while scoring.
- `recording`: the verdict stored, the Ladder's release, the public log's entry.
- `sweeping`: what a crash left behind.
- `executors`: who runs the jobs (this machine's engine, central Slurm, site agents), one
  `Executor` interface chosen by configuration (`make_executor`).

Plaintext inputs exist only in the job's memory-backed folder, wiped when the job ends. Nothing
the container prints is kept for runs on hidden data except sealed for the organisers.
"""

from arena.evaluation.claiming import claim_next_job, runs_here
from arena.evaluation.job import BOOTSTRAP_RESAMPLES, JobVerdict, SplitScore, Ticket, ticket_for
from arena.evaluation.recording import record
from arena.evaluation.remote import finish_remote
from arena.evaluation.running import execute, predictions_copy, run_one, run_ticket
from arena.evaluation.scoring import prediction_lines, secondary_score
from arena.evaluation.staging import (
    capture_bytes,
    folder_bytes,
    open_key,
    sample_file,
    staged_bytes,
)
from arena.evaluation.sweeping import sweep

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "JobVerdict",
    "SplitScore",
    "Ticket",
    "capture_bytes",
    "claim_next_job",
    "execute",
    "finish_remote",
    "folder_bytes",
    "open_key",
    "prediction_lines",
    "predictions_copy",
    "record",
    "run_one",
    "run_ticket",
    "runs_here",
    "sample_file",
    "secondary_score",
    "staged_bytes",
    "sweep",
    "ticket_for",
]
