"""Path, query and header parameters: each model is one set of them, a field per parameter."""

from __future__ import annotations

from typing import Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import Closed


class ChallengeStartLimitQuery(Closed):
    challenge: str | MISSING = MISSING
    start: int | MISSING = Field(default=MISSING, ge=0, le=2147483647)
    limit: int | MISSING = Field(default=MISSING, ge=0, le=1000)


class SeqSizeQuery(Closed):
    seq: int = Field(ge=0)
    size: int | MISSING = Field(default=MISSING, ge=0)


class FromToQuery(Closed):
    from_: int = Field(alias="from", ge=0)
    to: int | MISSING = Field(default=MISSING, ge=0)


class SlugPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})


class TokenIdPath(Closed):
    token_id: int = Field(ge=0)


class ScorerDigestQuery(Closed):
    scorer_digest: str | MISSING = Field(
        default=MISSING,
        description="with a `scorer:` in challenge.yaml: the digest of the scorer image, uploaded first "
        "through /api/uploads",
        pattern="^sha256:[0-9a-f]{64}$",
    )


class JobIdPath(Closed):
    job_id: str = Field(description="job- and 16 hex digits")


class KindQuery(Closed):
    kind: Literal["hidden", "sample"] | MISSING = MISSING


class RoundQuery(Closed):
    round: int | MISSING = Field(
        default=MISSING, description="the round's number; default the latest closed round", ge=1, le=2147483647
    )


class SlugTeamPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    team: str = Field(description="the team's name")


class VersionQuery(Closed):
    version: int | MISSING = Field(
        default=MISSING, description="the hidden-set version; default the newest revealed", ge=1, le=2147483647
    )


class SlugNamePath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    name: Literal["inputs.jsonl", "labels.jsonl", "assets.tar"]


class SubmitQuery(Closed):
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


class ChallengeQuery(Closed):
    challenge: str | MISSING = Field(default=MISSING, description="only this challenge's")


class SubmissionIdPath(Closed):
    submission_id: str = Field(description="sub- and 16 hex digits")


class SlugOrganiserIdPath(Closed):
    slug: str = Field(description="the challenge's slug", json_schema_extra={"example": "gpu-faults"})
    organiser_id: int = Field(ge=0)


class UploadIdPath(Closed):
    upload_id: str = Field(description="up- and 20 hex digits")


class OffsetQuery(Closed):
    offset: int = Field(description="the bytes the server has received", ge=0)
