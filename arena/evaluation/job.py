"""What one job is, as the path of a job sees it: its ticket (read in one short transaction), the
verdict on its run, and the score of one split of its items.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

import evaluators
from arena.models import Challenge, HiddenSet, Image, Job, Submission
from arena.services import assets, environments
from hidden_sets import DataKey, split_key
from sandbox import (
    EnvironmentConfig,
    JobRun,
    Limits,
    RunFailure,
    RunOutcome,
    SessionLimits,
    driven,
    limits_from,
    session_limits_from,
)

BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Ticket:
    """What one job needs, read in one short transaction so nothing is held while it runs."""

    job_id: str
    submission_id: str
    attempt: int
    worker: str
    image_id: str
    image_digest: str
    challenge: str
    metric: str
    limits: Limits
    hidden_set: HiddenSet = field(repr=False)
    kind: str = "hidden"
    public_fraction: float = 0.3
    secondary_metrics: tuple[str, ...] = ()
    protocol: str = "batch"
    session_limits: SessionLimits | None = None  # the interactive protocol's limits
    scorer: dict | None = None  # an organiser's scoring container (arena/services/scoring.py)
    environment: EnvironmentConfig | None = None  # an agent challenge's environment
    environment_digest: str | None = None  # its image, as uploaded

    @property
    def on_sample(self) -> bool:
        return self.kind == "sample"

    @property
    def driven(self) -> bool:
        """Whether the platform drives the container through its socket (protocol v2, agents too)."""
        return driven(self.protocol)

    def job_run(self, max_output_bytes: int) -> JobRun:
        """What the sandbox needs to run this job's container (sandbox.run_job)."""
        return JobRun(
            job_id=self.job_id,
            image_id=self.image_id,
            protocol=self.protocol,
            limits=self.limits,
            max_output_bytes=max_output_bytes,
            session_limits=self.session_limits,
            environment=self.environment,
        )


@dataclass(frozen=True)
class SplitScore:
    score: float
    low: float | None  # None when every bootstrap resample was degenerate
    high: float | None
    n_items: int
    item_scores: np.ndarray = field(repr=False)
    item_losses: np.ndarray = field(repr=False)  # what the Ladder compares: lower is better
    secondary: dict = field(default_factory=dict)  # {metric: {score, ci_low, ci_high}}; None if unscorable
    slices: dict = field(default_factory=dict)  # {slice: {score, ci_low, ci_high, n_items}} (services/slices.py)


@dataclass(frozen=True)
class JobVerdict:
    """What became of one run of a job: scored, failed (the model's fault) or to be retried (the
    platform's), with what is kept of it."""

    status: str  # "scored", "failed" (the model's fault) or "retry" (the platform's)
    score: float | None = None
    reason: str | None = None
    detail: str | None = None
    outcome: RunOutcome | None = None
    log: bytes | None = None
    splits: dict[str, SplitScore] = field(default_factory=dict)
    scorer_log: bytes | None = None  # sealed; for the organisers only
    trajectory: bytes | None = None  # an agent run's; sealed for hidden runs

    @classmethod
    def failed(cls, failure: RunFailure, outcome: RunOutcome | None) -> JobVerdict:
        """The model's failure, as the sandbox classified it."""
        return cls("failed", reason=failure.reason, detail=failure.detail, outcome=outcome)


def split_picks(ticket: Ticket, ids: list, key: DataKey) -> list[tuple[str, np.ndarray]]:
    """Which items each split holds. Sample runs: one split, every item. Hidden runs: the public
    split (the board) and the private one, chosen by a key derived from the set's data key."""
    if ticket.on_sample:
        return [("sample", np.arange(len(ids)))]
    mask = evaluators.split_mask(
        ids, key=split_key(key.key, set_id=ticket.hidden_set.id), public_fraction=ticket.public_fraction
    )
    return [
        (name, np.flatnonzero(chosen))
        for name, chosen in (("public", mask), ("private", ~mask if len(ids) > 1 else mask))
    ]


def split_seed(ticket: Ticket, name: str) -> int:
    """The bootstrap's seed for one split of one submission: the same on every attempt."""
    return int.from_bytes(hashlib.sha256(f"{ticket.submission_id}/{name}".encode()).digest()[:8], "big")


def ticket_for(session, job: Job, *, worker: str) -> Ticket:
    submission = session.get(Submission, job.submission_id)
    challenge = session.get(Challenge, submission.challenge_id)
    image = session.get(Image, submission.image_digest)
    hidden = session.get(HiddenSet, submission.hidden_set_id)
    staged = assets.folder_mb(assets_bytes=hidden.assets_bytes, kind=submission.kind)
    environment, digest = _environment(session, challenge)
    return Ticket(
        job_id=job.id,
        submission_id=submission.id,
        attempt=job.attempt,
        worker=worker,
        image_id=image.image_id,
        image_digest=image.digest,
        challenge=challenge.slug,
        metric=challenge.metric,
        limits=limits_from({**challenge.limits, "folder_mb": staged}),
        hidden_set=hidden,
        kind=submission.kind,
        public_fraction=challenge.public_fraction,
        secondary_metrics=tuple(challenge.secondary_metrics or ()),
        protocol=challenge.protocol,
        session_limits=session_limits_from(challenge.limits) if driven(challenge.protocol) else None,
        scorer=challenge.scorer,
        environment=environment,
        environment_digest=digest,
    )


def _environment(session, challenge: Challenge) -> tuple[EnvironmentConfig | None, str | None]:
    """An agent challenge's environment and the digest of its image (None where it has none)."""
    declared = challenge.environment or {}
    digest = declared.get("image_digest")
    if challenge.protocol != "agent" or digest is None:
        return None, None
    image = session.get(Image, digest)
    return environments.environment_config(declared, image.image_id), digest
