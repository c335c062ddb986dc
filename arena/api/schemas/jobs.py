"""The routes of the machines that run jobs: a GPU node (`arena node-run`) and a site agent."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import Closed, Open, RequestBody
from arena.services.sites import MAX_RENEW


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
        description=(
            "an agent job's environment (image_id, image_digest, tools, workdir, "
            "limits, agent limits; no score command): fetch /environment-image, run "
            "each item's environment here and send each item's final state back as "
            "final_states"
        )
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


class SiteHeartbeatBody(RequestBody):
    capabilities: dict[str, Any] = Field(description="checked by the platform (docs/scale.md)")


SlurmJobId = Annotated[str, Field(pattern="^[0-9]{1,40}$")]


class SiteRenewBody(RequestBody):
    """{"<job id>": "<Slurm job id>" or null}: the jobs whose Slurm jobs still live."""

    hint: ClassVar[str] = f'send {{"jobs": {{"<job id>": "<Slurm job id>"}}}}, at most {MAX_RENEW} jobs'

    jobs: dict[Annotated[str, Field(max_length=40)], SlurmJobId | None] = Field(max_length=MAX_RENEW)


class SiteEndedBody(RequestBody):
    state: str = Field(description="the Slurm job state", min_length=1, max_length=40)


class NodeResultBody(Open):
    verdict: Literal["exited", "timeout", "out_of_memory"]
    exit_code: str | MISSING = MISSING
    duration_s: str | MISSING = MISSING
    output_too_large: Literal["true", "false"] | MISSING = MISSING
    session_reason: Literal["not_ready", "timeout", "invalid_answer", "model_stopped"] | MISSING = MISSING
    session_detail: str | MISSING = MISSING
    predictions: bytes | MISSING = MISSING
    log: bytes | MISSING = MISSING
    trajectory: bytes | MISSING = Field(default=MISSING, description="an agent run's trajectory")
    final_states: list[bytes] | MISSING = Field(
        default=MISSING,
        description="an agent run's items' final states, gzipped tars named item-N.tar.gz, scored centrally",
    )
