"""Rounds: the rules that decide awards, the schedule, and the signed payout reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import Closed, Hex64, Open, RequestBody, Timestamp


class RulesKpiBaseline(Closed):
    score: float | MISSING = MISSING
    team: str | MISSING = MISSING


class RulesKpi(Closed):
    baseline: RulesKpiBaseline = Field(description="a fixed score, or a team of the organiser's")
    alpha: float
    eliminate_after: int | None


class RulesRewards(Closed):
    rule: Literal["winner_take_all", "rank_shares", "rank_band_split", "proportional"]
    shares: list[str]
    require_open_source: bool | MISSING = MISSING


class RulesRoundsItem(Closed):
    number: int
    name: str
    start: Timestamp | None
    end: Timestamp
    pool_cents: int = Field(description="euro cents", ge=0)
    pool_gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)


class Rules(Closed):
    """rounds, KPI and reward rules, fixed when the challenge was created"""

    rounds: list[RulesRoundsItem]
    kpi: RulesKpi | None
    rewards: RulesRewards
    resamples: int


class RoundSummary(Closed):
    number: int
    name: str
    status: Literal["upcoming", "open", "closing", "closed"]
    opens_at: Timestamp
    ends_at: Timestamp
    closed_at: Timestamp | None
    pool_cents: int = Field(description="euro cents", ge=0)
    pool_gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)
    paid_cents: int | None
    paid_gpu_minutes: int | None
    stopped_at: Timestamp | None
    stopped_early: bool
    added: bool = Field(description="added to the running challenge (its rules logged then)")


class RoundList(Closed):
    challenge: str
    rules: Rules | None = Field(description="the rules in force: of the open round, else the next, else the last")
    opening_rules: Rules | None = Field(description="the rules logged when the challenge opened")
    rounds: list[RoundSummary]


class RoundsAddedLogEntry(Closed):
    seq: int
    leaf_hash: str
    signature: str


class RoundsAdded(Closed):
    challenge: str
    rules: Rules
    opening_rules: Rules
    rounds: list[RoundSummary]
    added: list[RoundSummary]
    log_entry: RoundsAddedLogEntry


class Round(RoundSummary):
    """A round, with its challenge's slug."""

    challenge: str


class RoundReportPool(Closed):
    cents: int = Field(description="euro cents", ge=0)
    gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)


class RoundReportBaseline(Closed):
    score: float | None
    team: str | None
    submission: str | None


class RoundReportTeamsItemVsBaseline(Closed):
    values: list[float]
    counts: list[Annotated[int, Field(ge=1)]]


class RoundReportTeamsItem(Closed):
    team: str
    submission: str | None
    score: float | None
    ci_low: float | None
    ci_high: float | None
    factories: list[Annotated[list[str], Field(min_length=2, max_length=2)]]
    misses_before: int = Field(ge=0)
    vs_baseline: RoundReportTeamsItemVsBaseline | None = Field(
        description=(
            "the multiset of per-item differences (positive: the first is better on "
            "that item), all a paired bootstrap needs"
        )
    )
    open_source: bool | MISSING = Field(
        default=MISSING, description="the counted submission's method card says open source"
    )
    slices: dict[str, dict[str, Any]] | MISSING = Field(
        default=MISSING,
        description=(
            "each labelled slice's {score, ci_low, ci_high, n_items} on the private "
            "split (slices of at least 30 items); shown, never ranked or paid"
        ),
    )


class RoundReportPairsItemDifferences(Closed):
    values: list[float]
    counts: list[Annotated[int, Field(ge=1)]]


class RoundReportPairsItem(Closed):
    better: str
    worse: str
    differences: RoundReportPairsItemDifferences = Field(
        description=(
            "the multiset of per-item differences (positive: the first is better on "
            "that item), all a paired bootstrap needs"
        )
    )


class RoundReportStandingsItemFactoriesItem(Closed):
    factory: str
    share: str = Field(description="declared share, exact")
    cents: int = Field(description="euro cents", ge=0)
    gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)


class RoundReportStandingsItem(Closed):
    position: int | None
    team: str
    submission: str | None
    score: float | None
    ci_low: float | None
    ci_high: float | None
    kpi: Literal["met", "missed", "no_submission", "no_baseline", "none"]
    p_value: float | None
    improvement: float | None
    qualifies: bool
    band: int | None
    open_source: bool | MISSING = MISSING
    cents: int = Field(description="euro cents", ge=0)
    gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)
    factories: list[RoundReportStandingsItemFactoriesItem]
    misses: int = Field(ge=0)
    eliminated: bool


class RoundReportPairTestsItem(Closed):
    better: str
    worse: str
    p_value: float
    tied: bool


class RoundReportTotals(Closed):
    cents: int = Field(description="euro cents", ge=0)
    gpu_minutes: int = Field(description="GPU-minutes of priority access", ge=0)


class RoundReport(Closed):
    format: Literal["arena.round-report/v1"]
    challenge: str
    round: int
    name: str
    opened_at: Timestamp
    ends_at: Timestamp
    stopped_at: Timestamp
    closed_early: bool
    closed_at: Timestamp
    metric: str
    higher_is_better: bool
    hidden_set: str | None
    hidden_set_root: str | None
    rules: Rules
    pool: RoundReportPool
    baseline: RoundReportBaseline | None
    teams: list[RoundReportTeamsItem]
    pairs: list[RoundReportPairsItem]
    standings: list[RoundReportStandingsItem]
    pair_tests: list[RoundReportPairTestsItem]
    totals: RoundReportTotals


class SignedRoundReportLogEntry(Closed):
    seq: int
    leaf_hash: Hex64
    signature: str = Field(description="Ed25519, base64")


class SignedRoundReport(Closed):
    report: RoundReport
    log_entry: SignedRoundReportLogEntry = Field(description="the public-log entry whose data is this report")


class Readmitted(Closed):
    challenge: str
    team: str
    status: str


class AddRoundsBody(Open):
    """The rounds to append, as in challenge.yaml (docs/rounds.md); checked by the programme."""

    rounds: list[Any]
    kpi: dict[str, Any] | None | MISSING = MISSING
    rewards: dict[str, Any] | MISSING = MISSING


class CloseRoundBody(RequestBody):
    early: bool = Field(default=False, description="close before the round's end (the report records it)")
