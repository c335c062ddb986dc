"""Path, query and header parameters: each model is one set of them, a field per parameter."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import MAX_ID, MAX_SIZE, Closed, Query


class ChallengeStartLimitQuery(Query):
    challenge: str | MISSING = MISSING
    start: int = Field(default=0, description="the first entry's sequence number", ge=0, le=MAX_ID)
    limit: int = Field(default=1000, description="the most entries answered", ge=0, le=1000)


class SeqSizeQuery(Query):
    seq: int = Field(description="the entry's sequence number", ge=0, le=MAX_SIZE)
    size: int | MISSING = Field(default=MISSING, ge=0, le=MAX_SIZE)


class FromToQuery(Query):
    from_: int = Field(alias="from", description="the older tree size", ge=0, le=MAX_SIZE)
    to: int | MISSING = Field(default=MISSING, ge=0, le=MAX_SIZE)


class SlugPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})


class TokenIdPath(Closed):
    token_id: int = Field(ge=0)


class ScorerDigestQuery(Query):
    scorer_digest: str | MISSING = Field(
        default=MISSING,
        description="with a `scorer:` in challenge.yaml: the digest of the scorer image, uploaded first "
        "through /api/uploads",
        pattern="^sha256:[0-9a-f]{64}$",
    )


class JobIdPath(Closed):
    job_id: str = Field(description="job- and 16 hex digits")


class KindQuery(Query):
    kind: Literal["hidden", "sample"] = "hidden"


class RoundQuery(Query):
    round: int | MISSING = Field(
        default=MISSING, description="the round's number; default the latest closed round", ge=1, le=MAX_ID
    )


class SlugTeamPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    team: str = Field(description="the team's name")


class VersionQuery(Query):
    version: int | MISSING = Field(
        default=MISSING, description="the hidden-set version; default the newest revealed", ge=1, le=MAX_ID
    )


class SlugNamePath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    name: Literal["inputs.jsonl", "labels.jsonl", "assets.tar"]


class SubmitQuery(Query):
    kind: Literal["hidden", "sample"] = Field(
        description="hidden: scored on the hidden set; sample: a debug run", default="hidden"
    )


class IdempotencyKeyHeader(Closed):
    Idempotency_Key_: str | MISSING = Field(
        default=MISSING,
        alias="Idempotency-Key",
        description="1-100 printable characters; a retry returns the first submission",
        min_length=1,
        max_length=100,
    )


class SlugTeamIdPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    team_id: int = Field(ge=0)


class ChallengeQuery(Query):
    challenge: str | MISSING = Field(default=MISSING, description="only this challenge's")


class SubmissionIdPath(Closed):
    submission_id: str = Field(description="sub- and 16 hex digits")


class SlugOrganiserIdPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    organiser_id: int = Field(ge=0)


class UploadIdPath(Closed):
    upload_id: str = Field(description="up- and 20 hex digits")


class OffsetQuery(Query):
    offset: int = Field(description="the bytes the server has received", ge=0, le=MAX_SIZE)
    hint: ClassVar[str] = "give ?offset=N: the number of bytes the server has (GET the upload to see)"
