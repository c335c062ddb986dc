"""Submissions, their logs and method cards, the pre-flight, and resumable uploads."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import MISSING, ConfigDict, Field

from arena.api.schemas._base import Closed, Hex64, Open, RequestBody, Timestamp
from arena.api.schemas.log import LogEntry

SubmissionStatus = Literal["queued", "running", "scored", "failed"]
FailureReason = Literal[
    "timeout",
    "out_of_memory",
    "crashed",
    "invalid_output",
    "output_too_large",
    "not_ready",
    "infrastructure",
    "scorer_failed",
]


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
    started_at: Timestamp | None
    finished_at: Timestamp | None


class SubmissionResultsItem(Closed):
    split: Literal["public", "private", "sample"]
    score: float
    ci_low: float | None
    ci_high: float | None
    n_items: int
    released: bool | None
    hidden_set_root: str | None


class SubmissionMethodCard(Open):
    name: str | MISSING = MISSING
    description: str | MISSING = MISSING
    code_url: str | None | MISSING = MISSING
    licence: str | None | MISSING = MISSING
    open_source: bool | MISSING = MISSING


class SubmissionReceiptEntry(Closed):
    seq: int
    leaf_hash: str


class LogRead(Closed):
    at: Timestamp
    organisation: str
    reason: str


class Submission(Closed):
    id: str = Field(description="sub- and 16 hex digits")
    kind: Literal["hidden", "sample"]
    challenge: str = Field(description="the challenge's slug")
    team: str = Field(description="the team's name")
    image_digest: str = Field(description="sha256: and the tarball's SHA-256")
    status: SubmissionStatus
    score: float | None
    failure_reason: FailureReason | None
    failure_detail: str | None
    created_at: Timestamp
    updated_at: Timestamp
    attempts: list[Attempt] | MISSING = Field(
        default=MISSING, description="each evaluation job; shown to organisers only"
    )
    selected: bool = Field(description="chosen by the team for the final ranking")
    results: list[SubmissionResultsItem] | MISSING = Field(
        default=MISSING, description="every split's score, private included; shown to organisers only"
    )
    method_card: SubmissionMethodCard | None = Field(description="what the team says this entry is")
    released: bool | None = Field(
        description=(
            "hidden runs once scored: whether the Ladder released the public score "
            "(score is null when it did not: no better than the team's best beyond "
            "noise)"
        )
    )
    log_reads: list[LogRead] | MISSING = Field(
        default=MISSING,
        description=(
            "each read of this hidden run's log by its organisers (or the "
            "administrator): when, by which organisation, and why (GET of one "
            "submission only)"
        ),
    )
    receipt: LogEntry | None | MISSING = Field(
        default=MISSING,
        description="the signed public-log entry recording this submission (hidden runs; null for a sample run)",
    )
    receipt_entry: SubmissionReceiptEntry | None | MISSING = Field(
        default=MISSING,
        description="in a team's listing: where its receipt is in the public log (null: a sample run)",
    )
    secondary: dict[str, Any] | None | MISSING = Field(
        default=MISSING,
        description=(
            "the secondary metrics' {score, ci_low, ci_high} (a metric null where "
            "it could not score): a sample run's; a hidden run's on the public "
            "split, beside a released score"
        ),
    )
    signed_results: list[LogEntry] | MISSING = Field(
        default=MISSING, description="the submission's signed result entries in the public log"
    )


class HiddenLog(Closed):
    id: str
    kind: Literal["hidden"]
    status: SubmissionStatus
    failure_reason: FailureReason | None
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
    resets_at: Timestamp


class SubmissionList(Closed):
    submissions: list[Submission] = Field(max_length=500)
    team: str | MISSING = MISSING
    quotas: list[SubmissionListQuotasItem] | MISSING = Field(
        default=MISSING, description="a team's runs left today, per challenge and kind"
    )


class CanSubmitQuota(Closed):
    daily: int
    used: int
    left: int
    resets_at: Timestamp


class CanSubmit(Closed):
    """the pre-flight: whether the team may submit now, and the reason if not"""

    challenge: str
    kind: Literal["hidden", "sample"]
    ok: bool
    reason: str | None
    status: int
    retry_after: str | None
    quota: CanSubmitQuota
    pending: int
    max_pending: int
    round: str | None | MISSING = MISSING


class SubmissionLog(Closed):
    id: str
    kind: Literal["hidden", "sample"]
    status: SubmissionStatus
    failure_reason: FailureReason | None | MISSING = MISSING
    failure_detail: str | None | MISSING = MISSING
    log: str | None
    scorer_log: str | None | MISSING = Field(
        default=MISSING, description="organisers only: what the scoring container printed"
    )


class Upload(Closed):
    id: str
    size: int = Field(ge=1)
    sha256: Hex64
    received: int = Field(ge=0)
    complete: bool
    image_digest: str | None


class SubmitBody(RequestBody):
    """Resubmit an image the team uploaded before (else the body is a `docker save` tarball)."""

    hint: ClassVar[str] = 'send the image as a `docker save` tarball, or JSON {"image_digest": …}'
    image_digest: str


class SetMethodCardBody(RequestBody):
    """What the entry is: public, in the log and on the board (checked further by the service)."""

    model_config = ConfigDict(extra="forbid")
    hint: ClassVar[str] = "a method card is an object with the keys code_url, description, licence, name, open_source"
    name: str = Field(description="1-100 characters")
    description: str = Field(default="", description="at most 2,000 characters")
    code_url: str | None = Field(default=None, description="an http(s) address of at most 500 characters")
    licence: str | None = Field(default=None, description="1-100 characters, e.g. an SPDX id")
    open_source: bool = Field(default=False, description="true needs a code_url and a licence")


class SelectSubmissionBody(RequestBody):
    hint: ClassVar[str] = 'send {"selected": true} or {"selected": false}'
    selected: bool


class ReadHiddenLogBody(RequestBody):
    hint: ClassVar[str] = "say why you read this log: a reason of 10-500 printable characters"
    reason: str = Field(description="recorded, and shown to the team", min_length=10, max_length=500)


class StartUploadBody(RequestBody):
    hint: ClassVar[str] = 'send {"size": <bytes>, "sha256": "<64 hex digits>"}'
    size: int = Field(description="bytes; at most the server's image limit", ge=1)
    sha256: str = Field(pattern="^[0-9a-fA-F]{64}$")
