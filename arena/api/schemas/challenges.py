"""Challenges: their descriptions, creation, versions, registrations, organisers and queue."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import MISSING, ConfigDict, Field, model_validator

from arena.api.schemas._base import MAX_ID, Closed, Hex64, Open, RequestBody, Timestamp
from arena.api.schemas.boards import Commitment
from arena.api.schemas.rounds import Rules


class ChallengeLimits(Open):
    __pydantic_extra__: dict[str, float]  # type: ignore[assignment]
    time_limit_seconds: int | MISSING = MISSING
    memory_mb: int | MISSING = MISSING
    cpus: float | MISSING = MISSING
    pids: int | MISSING = MISSING
    gpus: int | MISSING = MISSING


class ChallengeEnvironment(Closed):
    tools: list[str]
    workdir: str
    network: Literal["none"]
    limits: dict[str, float]
    image_digest: str | None


class ChallengeScorer(Closed):
    image: str = Field(description="the scorer image's digest (sha256:…)")
    aggregation: Literal["mean", "ratio"]
    range: list[float] = Field(min_length=2, max_length=2)
    secondary: list[str]


class ChallengeSummary(Closed):
    slug: str
    title: str
    description: str
    metric: str
    limits: ChallengeLimits = Field(description="the sandbox limits of every run")
    daily_quota: int = Field(ge=1)
    max_pending: int = Field(ge=1)
    registration: Literal["open", "approval"] = Field(
        description="open: any team may take part; approval: the organiser decides"
    )
    public_fraction: float = Field(
        description="share of hidden items on the public board (the rest rank the round's close)", gt=0, lt=1
    )
    count_failures: bool = Field(
        description="whether a model's own failures use up the daily quota (platform failures never do)"
    )
    rules: Rules | None
    secondary_metrics: list[str] = Field(description="shown beside the primary metric; only the primary ranks and pays")
    protocol: Literal["batch", "interactive", "agent"] = Field(
        description=(
            "batch: /input to /output (docs/container-protocol.md); interactive: a "
            "chat API on /run/arena/model.sock (docs/interactive-protocol.md); "
            "agent: the same, with tools acting in an environment per item "
            "(docs/agent-protocol.md)"
        )
    )
    environment: ChallengeEnvironment | None = Field(
        description="an agent challenge's environment: its tools, per-item limits and pinned image"
    )
    higher_is_better: bool
    scorer: ChallengeScorer | None = Field(
        description="the organiser's scoring container (docs/scorer-protocol.md); null: the built-in metric"
    )
    platforms: list[Literal["linux/amd64", "linux/arm64"]] = Field(
        description="what the challenge's images may be built for"
    )
    gpu_vendors: list[Literal["nvidia", "amd"]] = Field(description="GPU vendors its GPU jobs may run on")
    teams: int = Field(description="teams that have submitted", ge=0)


class ChallengeList(Closed):
    challenges: list[ChallengeSummary]


class Challenge(ChallengeSummary):
    """A challenge in full: its summary, its hidden set and the commitment to it."""

    hidden_set_version: int = Field(ge=1)
    n_items: int
    has_sample: bool
    n_assets: int = Field(description="binary asset files in the set", ge=0)
    n_sample_assets: int = Field(description="binary asset files in the sample (GET sample/assets.tar)", ge=0)
    commitment: Commitment


class ChallengeCreated(Closed):
    slug: str
    hidden_set: str
    n_items: int
    n_sample_items: int
    root: Hex64
    n_assets: int = Field(description="binary asset files in the hidden set", ge=0)
    n_sample_assets: int = Field(description="binary asset files in the sample", ge=0)


class VersionCreated(Closed):
    slug: str
    version: int = Field(ge=2)
    hidden_set: str
    n_items: int
    root: Hex64
    n_assets: int = Field(ge=0)


class ChallengeQueueJobsItem(Closed):
    job: str
    submission: str
    status: Literal["queued", "running"]
    executor: str
    site: str | None
    created_at: Timestamp
    waiting_reason: str | None


class ChallengeQueue(Closed):
    jobs: list[ChallengeQueueJobsItem]


class Organiser(Closed):
    id: int
    name: str


class ChallengeOrganisersCoOrganisersItem(Closed):
    id: int
    name: str
    added_at: Timestamp


class ChallengeOrganisers(Closed):
    challenge: str
    owner: Organiser
    co_organisers: list[ChallengeOrganisersCoOrganisersItem]


class Registration(Closed):
    challenge: str
    team_id: int
    team: str
    status: Literal["approved", "pending", "refused", "eliminated"]
    created_at: Timestamp
    decided_at: Timestamp | None


class RegistrationList(Closed):
    registrations: list[Registration]


class CreateChallengeBody(Closed):
    challenge_yaml_: bytes = Field(alias="challenge.yaml")
    inputs_jsonl_: bytes = Field(alias="inputs.jsonl")
    labels_jsonl_: bytes = Field(alias="labels.jsonl")
    sample_inputs_jsonl_: bytes | MISSING = Field(default=MISSING, alias="sample/inputs.jsonl")
    sample_labels_jsonl_: bytes | MISSING = Field(default=MISSING, alias="sample/labels.jsonl")
    assets_tar_: bytes | MISSING = Field(default=MISSING, alias="assets.tar")
    sample_assets_tar_: bytes | MISSING = Field(default=MISSING, alias="sample/assets.tar")


class SetScorerAnswer(Closed):
    slug: str
    scorer_image: str


class SetScorerBody(RequestBody):
    image_digest: str = Field(description="sha256:…, uploaded through /api/uploads first")


class RevealBody(RequestBody):
    """reveal all items ({"all": true}) or the items named ({"ids": [...]}); optional "version"
    (default the newest)"""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["ids"],
                    "properties": {"ids": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
                },
                {"required": ["all"], "properties": {"all": {"const": True}, "ids": {"type": "null"}}},
            ]
        },
    )
    all: Any = Field(default=None, description="true (and no ids): reveal every item")
    ids: list[str] | None = Field(default=None, min_length=1)
    version: int | None = Field(default=None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _all_or_ids(self) -> RevealBody:
        if not self.ids and not (self.all is True and self.ids is None):
            raise ValueError('say what to reveal: {"all": true} or {"ids": ["id", ...]}')
        return self


class DecideRegistrationBody(RequestBody):
    hint: ClassVar[str] = 'send {"approve": true} or {"approve": false}'
    approve: bool


class SetEnvironmentAnswer(Closed):
    slug: str
    image_digest: str


class AddVersionBody(Closed):
    inputs_jsonl_: bytes = Field(alias="inputs.jsonl")
    labels_jsonl_: bytes = Field(alias="labels.jsonl")
    assets_tar_: bytes | MISSING = Field(default=MISSING, alias="assets.tar")


class AddOrganiserBody(RequestBody):
    hint: ClassVar[str] = 'name the organiser to add: {"organiser": "<its name>"}'
    organiser: str = Field(description="its name")
