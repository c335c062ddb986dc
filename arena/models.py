"""The data model. Schema changes go through Alembic migrations only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from arena.timeutil import utcnow


class Base(DeclarativeBase):
    pass


class Organiser(Base):
    __tablename__ = "organisers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Administrator(Base):
    """Runs the platform: the only role that sees across challenges. Made on the server's machine."""

    __tablename__ = "administrators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Factory(Base):
    __tablename__ = "factories"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The organiser that created the team: with the team itself, the only one to make its tokens.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"))
    members: Mapped[list[TeamFactory]] = relationship(back_populates="team", lazy="selectin")


class TeamFactory(Base):
    """A factory taking part in a team; several factories make an alliance, with shares."""

    __tablename__ = "team_factories"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    factory_id: Mapped[int] = mapped_column(ForeignKey("factories.id"), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
    team: Mapped[Team] = relationship(back_populates="members")
    factory: Mapped[Factory] = relationship(lazy="joined")


class Token(Base):
    """A bearer token, stored only as its SHA-256."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    administrator_id: Mapped[int | None] = mapped_column(ForeignKey("administrators.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    label: Mapped[str | None] = mapped_column(String(100))


class Challenge(Base):
    __tablename__ = "challenges"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    metric: Mapped[str] = mapped_column(String(64))
    limits: Mapped[dict] = mapped_column(JSON)
    daily_quota: Mapped[int] = mapped_column(Integer)
    max_pending: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    registration: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    # Whether a model's own failures (timeout, crash, invalid output…) use up the daily quota.
    count_failures: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    public_fraction: Mapped[float] = mapped_column(Float, default=0.3, server_default="0.3")
    # Rounds, KPI and rewards as declared in challenge.yaml (see services/rules.py); None: no rounds.
    rules: Mapped[dict | None] = mapped_column(JSON)
    # Shown beside the primary metric on every board; ranking, the Ladder, KPIs and rewards use the primary.
    secondary_metrics: Mapped[list | None] = mapped_column(JSON)
    # "batch" (v1: /input and /output) or "interactive" (v2: a chat API on a unix socket)
    protocol: Mapped[str] = mapped_column(String(16), default="batch", server_default="batch")
    # An organiser's scoring container (protocol v3), pinned by digest: {"image_digest", "image_id",
    # "aggregation", "higher_is_better", "range", "secondary", "limits"}; None: the built-in `metric`.
    scorer: Mapped[dict | None] = mapped_column(JSON)
    # What the challenge's images may be built for, and which GPU vendors its jobs may use (see
    # services/sites.py); None: linux/amd64 and NVIDIA, as before platforms were declared.
    hardware: Mapped[dict | None] = mapped_column(JSON)
    # Agent challenges (protocol "agent"): the declared environment (tools, workdir, score command,
    # limits) and, once uploaded, "image_digest", the environment image it is pinned to.
    environment: Mapped[dict | None] = mapped_column(JSON)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChallengeOrganiser(Base):
    """A co-organiser of a challenge, added by its owner (the organiser in Challenge.organiser_id)."""

    __tablename__ = "challenge_organisers"
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class HiddenSet(Base):
    """One version of a challenge's hidden set; its files are encrypted under a wrapped data key."""

    __tablename__ = "hidden_sets"
    __table_args__ = (UniqueConstraint("challenge_id", "version"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"))
    version: Mapped[int] = mapped_column(Integer)
    n_items: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(40))
    master_key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    has_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Binary assets: how many files, and their plaintext bytes (to size a job's memory folder).
    n_assets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    assets_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The public commitment: RFC 6962 root over the items, in a statement signed by the platform.
    root: Mapped[str | None] = mapped_column(String(64))
    commitment: Mapped[dict | None] = mapped_column(JSON)
    commitment_signature: Mapped[str | None] = mapped_column(String(100))
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Image(Base):
    """An uploaded `docker save` tarball, stored once by its SHA-256."""

    __tablename__ = "images"
    digest: Mapped[str] = mapped_column(String(71), primary_key=True)
    image_id: Mapped[str] = mapped_column(String(71))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    architecture: Mapped[str] = mapped_column(String(16), default="amd64", server_default="amd64")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("team_id", "idempotency_key", name="uq_submissions_team_idempotency"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    image_digest: Mapped[str] = mapped_column(ForeignKey("images.digest"))
    hidden_set_id: Mapped[str] = mapped_column(ForeignKey("hidden_sets.id"))
    # "hidden": scored on the hidden set, nothing flows back but a score and a coarse status.
    # "sample": run on the public sample set, to debug; the team sees its logs and predictions.
    kind: Mapped[str] = mapped_column(String(10), default="hidden", server_default="hidden")
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    # Chosen by the team to count in the final (private) ranking; none chosen: its best public one.
    selected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The round in which it arrived (hidden runs on challenges with rounds).
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), index=True)
    # What the team says its entry is: name, description, code_url, licence, open_source.
    method_card: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    score: Mapped[float | None] = mapped_column(Float)
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    failure_detail: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    team: Mapped[Team] = relationship(lazy="joined")
    challenge: Mapped[Challenge] = relationship(lazy="joined")


class Job(Base):
    """One attempt at evaluating a submission."""

    __tablename__ = "jobs"
    # One live attempt per submission: a lapse is re-queued once, whoever notices it.
    __table_args__ = (
        Index(
            "uq_jobs_one_live_per_submission",
            "submission_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(300))  # for organisers; never shown to teams
    # The tail of the container's output: sealed under the set's data key for hidden runs
    # (organisers only), plain for sample runs (the team's own debugging).
    log: Mapped[bytes | None] = mapped_column(LargeBinary)
    scorer_log: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed; for organisers only
    exit_code: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    # Where it ran: "local" (a worker's own engine) or "slurm" (a batch job on a GPU node).
    executor: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    external_id: Mapped[str | None] = mapped_column(String(40))  # the Slurm job id
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)  # the site agent's
    # An agent run's messages and tool calls (JSON lines): sealed under the set's data key for hidden
    # runs (the challenge's organiser only), plain for sample runs.
    trajectory: Mapped[bytes | None] = mapped_column(LargeBinary)


class Result(Base):
    """The score of one submission on one split of the hidden set version it was run on."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("submission_id", "split"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    split: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    n_items: Mapped[int] = mapped_column(Integer)
    hidden_set_id: Mapped[str] = mapped_column(ForeignKey("hidden_sets.id"))
    hidden_set_root: Mapped[str | None] = mapped_column(String(64))
    ci_low: Mapped[float | None] = mapped_column(Float)  # 95% bootstrap interval, seeded by the result
    ci_high: Mapped[float | None] = mapped_column(Float)
    item_scores_sha256: Mapped[str | None] = mapped_column(String(64))
    # Each labelled slice's score and interval (services/slices.py); shown, never ranked.
    slices: Mapped[dict | None] = mapped_column(JSON)
    # The Ladder, for public results: whether the score was released, and the value released.
    released: Mapped[bool | None] = mapped_column(Boolean)
    released_score: Mapped[float | None] = mapped_column(Float)
    item_scores: Mapped[bytes | None] = mapped_column(LargeBinary)
    secondary: Mapped[dict | None] = mapped_column(
        JSON
    )  # {metric: {score, ci_low, ci_high}}  # per-item losses, float64 (hidden runs)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Every state-changing action, with who did it: append-only."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(250))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(250))
    detail: Mapped[dict | None] = mapped_column(JSON)


class Upload(Base):
    """A resumable image upload: parts arrive in order; completion checks the declared digest."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"))  # a scorer image's
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    image_digest: Mapped[str | None] = mapped_column(String(71))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Registration(Base):
    """A team taking part in a challenge: "approved" (open challenges approve at once) or "pending"."""

    __tablename__ = "registrations"
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # pending, approved, refused, eliminated
    # Rounds in a row whose KPI the team missed; reaching the challenge's limit eliminates it.
    kpi_misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class Round(Base):
    """One evaluation period of a challenge: submissions that arrive in it are ranked together on
    the private split when it closes, and its reward pool is allocated by the challenge's rules."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("challenge_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: when the previous one stops
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    pool_cents: Mapped[int] = mapped_column(BigInteger)
    pool_gpu_minutes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")  # scheduled, closing, closed
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)  # closed early by the organiser
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_set_id: Mapped[str | None] = mapped_column(ForeignKey("hidden_sets.id"))
    report: Mapped[dict | None] = mapped_column(JSON)
    log_seq: Mapped[int | None] = mapped_column(Integer)
    # The rules of a round added to a running challenge, as logged with its addition (kpi,
    # rewards, resamples, and the schedule added with it); None: the rules logged at the opening.
    rules: Mapped[dict | None] = mapped_column(JSON)


class Site(Base):
    """An HPC site whose agent pulls jobs (services/sites.py); its credential is kept as a hash."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    capabilities: Mapped[dict | None] = mapped_column(JSON)  # as its agent last advertised them
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ComputeGrant(Base):
    """A closed round's GPU-minutes for one factory, granted into its Slurm account's
    GrpTRESMins (services/grants.py): once per challenge, round and factory."""

    __tablename__ = "compute_grants"
    __table_args__ = (UniqueConstraint("challenge_id", "round_number", "factory"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    round_number: Mapped[int] = mapped_column(Integer)
    factory: Mapped[str] = mapped_column(String(200))
    account: Mapped[str] = mapped_column(String(64), index=True)
    gpu_minutes: Mapped[int] = mapped_column(BigInteger)
    report_seq: Mapped[int] = mapped_column(BigInteger)  # the log entry of the signed round report
    report_leaf_hash: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NodeCredential(Base):
    """A bearer credential for one job on one GPU node, stored as its SHA-256: valid only for
    that job, only while it runs, and never after its result is in (or its Slurm job ended)."""

    __tablename__ = "node_credentials"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)  # by its one result post


class WebSession(Base):
    """A signed-in browser: its cookie holds a random id whose hash is kept here with the token's
    hash. Signing out deletes it, so a copy of the cookie stops working too; it ends after 30 days."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RateCounter(Base):
    """Requests of one team or organiser in one minute, counted by every API process together."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class LogEntry(Base):
    """One entry of the public log: canonical JSON, chained to the previous entry, signed."""

    __tablename__ = "log_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    challenge: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    # The submission a receipt, result or method card is about, so its entries are found by id.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)


class LogNode(Base):
    """A stored node of the log's RFC 9162 tree: the hash of the full subtree over leaves
    [index * 2^level, (index + 1) * 2^level). Written as entries are appended (arena.tlog)."""

    __tablename__ = "log_nodes"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCosignature(Base):
    """A witness's cosignature (c2sp.org/tlog-cosignature) on the checkpoint of one tree size."""

    __tablename__ = "log_cosignatures"
    __table_args__ = (UniqueConstraint("size", "key_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    key_id: Mapped[str] = mapped_column(String(8))
    witness: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
