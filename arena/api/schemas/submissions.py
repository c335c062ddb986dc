"""submissions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from arena.api.schemas._base import Closed, Open
from arena.api.schemas.log import LogEntry


class Attempt(Closed):
    job: str
    attempt: int = Field(ge=1)
    status: Literal["queued", "running", "done", "failed"]
    outcome: str | None
    error: str | None
    exit_code: int | None
    duration_s: float | None
    executor: Literal["local", "slurm", "site"]
    external_id: str | None = Field(description="the Slurm job id")
    site: str | None = Field(description="the site whose agent ran it")
    started_at: str | None = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )
    finished_at: str | None = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )


class SubmissionResultsItem(Closed):
    split: Literal["public", "private", "sample"]
    score: float
    ci_low: float | None
    ci_high: float | None
    n_items: int
    released: bool | None
    hidden_set_root: str | None


class SubmissionMethodCard(Open):
    name: str = Field(default=None)
    description: str = Field(default=None)
    code_url: str | None = Field(default=None)
    licence: str | None = Field(default=None)
    open_source: bool = Field(default=None)


class SubmissionReceiptEntry(Closed):
    seq: int
    leaf_hash: str


class LogRead(Closed):
    at: str = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )
    organisation: str
    reason: str


class Submission(Closed):
    id: str = Field(description="sub- and 16 hex digits")
    kind: Literal["hidden", "sample"]
    challenge: str = Field(description="the challenge's slug")
    team: str = Field(description="the team's name")
    image_digest: str = Field(description="sha256: and the tarball's SHA-256")
    status: Literal["queued", "running", "scored", "failed"]
    score: float | None
    failure_reason: (
        Literal[
            "timeout",
            "out_of_memory",
            "crashed",
            "invalid_output",
            "output_too_large",
            "not_ready",
            "infrastructure",
            "scorer_failed",
        ]
        | None
    )
    failure_detail: str | None
    created_at: str = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )
    updated_at: str = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )
    attempts: list[Attempt] = Field(default=None, description="each evaluation job; shown to organisers only")
    selected: bool = Field(description="chosen by the team for the final ranking")
    results: list[SubmissionResultsItem] = Field(
        default=None, description="every split's score, private included; shown to organisers only"
    )
    method_card: SubmissionMethodCard | None = Field(description="what the team says this entry is")
    released: bool | None = Field(
        description="hidden runs once scored: whether the Ladder released the public score (score is null when it did not: no better than the team's best beyond noise)"
    )
    log_reads: list[LogRead] = Field(
        default=None,
        description="each read of this hidden run's log by its organisers (or the administrator): when, by which organisation, and why (GET of one submission only)",
    )
    receipt: LogEntry | None = Field(
        default=None,
        description="the signed public-log entry recording this submission (hidden runs; null for a sample run)",
    )
    receipt_entry: SubmissionReceiptEntry | None = Field(
        default=None, description="in a team's listing: where its receipt is in the public log (null: a sample run)"
    )
    secondary: dict[str, Any] | None = Field(
        default=None,
        description="the secondary metrics' {score, ci_low, ci_high} (a metric null where it could not score): a sample run's; a hidden run's on the public split, beside a released score",
    )
    signed_results: list[LogEntry] = Field(
        default=None, description="the submission's signed result entries in the public log"
    )


class HiddenLog(Closed):
    id: str
    kind: Literal["hidden"]
    status: Literal["queued", "running", "scored", "failed"]
    failure_reason: (
        Literal[
            "timeout",
            "out_of_memory",
            "crashed",
            "invalid_output",
            "output_too_large",
            "not_ready",
            "infrastructure",
            "scorer_failed",
        ]
        | None
    )
    failure_detail: str | None
    log: str | None
    scorer_log: str | None = Field(description="what the scoring container printed, if the challenge has one")
    read: LogRead


class SubmissionListQuotasItem(Closed):
    challenge: str
    registration: str
    kind: Literal["hidden", "sample"]
    used: int
    left: int
    quota: int
    resets_at: str = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )


class SubmissionList(Closed):
    submissions: list[Submission] = Field(max_length=500)
    team: str = Field(default=None)
    quotas: list[SubmissionListQuotasItem] = Field(
        default=None, description="a team's runs left today, per challenge and kind"
    )


class CanSubmitQuota(Closed):
    daily: int
    used: int
    left: int
    resets_at: str = Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    )


class CanSubmit(Closed):
    "the pre-flight: whether the team may submit now, and the reason if not"

    challenge: str
    kind: Literal["hidden", "sample"]
    ok: bool
    reason: str | None
    status: int
    retry_after: str | None
    quota: CanSubmitQuota
    pending: int
    max_pending: int
    round: str | None = Field(default=None)


class SubmissionLog(Closed):
    id: str
    kind: Literal["hidden", "sample"]
    status: Literal["queued", "running", "scored", "failed"]
    failure_reason: (
        Literal[
            "timeout",
            "out_of_memory",
            "crashed",
            "invalid_output",
            "output_too_large",
            "not_ready",
            "infrastructure",
            "scorer_failed",
        ]
        | None
    ) = Field(default=None)
    failure_detail: str | None = Field(default=None)
    log: str | None
    scorer_log: str | None = Field(default=None, description="organisers only: what the scoring container printed")


class Upload(Closed):
    id: str
    size: int = Field(ge=1)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    received: int = Field(ge=0)
    complete: bool
    image_digest: str | None


class SubmitBody(Open):
    image_digest: str


class SetMethodCardBody(Closed):
    name: str
    description: str = Field(default=None)
    code_url: str | None = Field(default=None)
    licence: str | None = Field(default=None)
    open_source: bool = Field(default=None)


class SelectSubmissionBody(Closed):
    selected: bool


class ReadHiddenLogBody(Closed):
    reason: str = Field(min_length=10, max_length=500)


class StartUploadBody(Open):
    size: int = Field(description="bytes; at most the server's image limit", ge=1)
    sha256: str = Field(pattern="^[0-9a-fA-F]{64}$")
