"""jobs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from arena.api.schemas._base import Closed, Open


class NodeJobLimits(Closed):
    time_limit_seconds: float
    memory_mb: int
    cpus: float
    pids: int
    gpus: int


class NodeJobSession(Closed):
    startup_s: float
    request_s: float
    max_answer_bytes: int
    concurrency: int


class NodeJob(Closed):
    job: str
    kind: Literal["hidden", "sample"]
    image_id: str
    max_output_bytes: int
    runtime: str | None
    image_digest: str
    challenge: str
    metric: str
    limits: NodeJobLimits
    protocol: Literal["batch", "interactive", "agent"]
    session: NodeJobSession | None
    staged_bytes: int = Field(description="inputs and assets, to size the job's memory folder", ge=0)
    folder_bytes: int = Field(
        description="the size to give the job's memory folder: staged files and output room", ge=0
    )
    assets: bool = Field(description="whether to fetch /assets")
    environment: dict[str, Any] | None = Field(
        description="an agent job's environment (image_id, image_digest, tools, workdir, limits, agent limits; no score command): fetch /environment-image, run each item's environment here and send each item's final state back as final_states"
    )


class NodeResultAccepted(Closed):
    job: str
    recorded: bool


class SiteHeartbeat(Closed):
    site: str
    capabilities: dict[str, Any]


class SiteClaim(Closed):
    job: str
    partition: str
    node_token: str
    lease_s: float
    time_seconds: int
    cpus: int
    memory_mb: int
    gpus: int
    gpu_vendor: str | None
    architecture: str


class SiteRenewed(Closed):
    running: list[str]
    stopped: list[str]


class SiteEnded(Closed):
    job: str
    requeued: bool


class SiteHeartbeatBody(Closed):
    capabilities: dict[str, Any]


class SiteRenewBody(Closed):
    jobs: dict[str, str | None] = Field(max_length=10000)


class SiteEndedBody(Closed):
    state: str


class NodeResultBody(Open):
    verdict: Literal["exited", "timeout", "out_of_memory"]
    exit_code: str = Field(default=None)
    duration_s: str = Field(default=None)
    output_too_large: Literal["true", "false"] = Field(default=None)
    session_reason: Literal["not_ready", "timeout", "invalid_answer", "model_stopped"] = Field(default=None)
    session_detail: str = Field(default=None)
    predictions: bytes = Field(default=None)
    log: bytes = Field(default=None)
    trajectory: bytes = Field(default=None, description="an agent run's trajectory")
    final_states: list[bytes] = Field(
        default=None,
        description="an agent run's items' final states, gzipped tars named item-N.tar.gz, scored centrally",
    )
