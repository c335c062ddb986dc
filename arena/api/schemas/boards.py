"""What a challenge publishes: its commitment and reveals, its leaderboard and a team's history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import Closed, Hex64, Open, Timestamp


class Statement(Open):
    """the signed commitment statement"""

    type: Literal["arena.hidden-set-commitment/v1"] | MISSING = MISSING
    challenge: str | MISSING = MISSING
    hidden_set: str | MISSING = MISSING
    version: int | MISSING = MISSING
    n_items: int | MISSING = MISSING
    root: Hex64 | MISSING = MISSING
    tree: str | MISSING = MISSING
    leaf: str | MISSING = MISSING
    committed_at: Timestamp | None | MISSING = MISSING
    n_assets: int | MISSING = Field(default=MISSING, description="binary asset files in the set", ge=0)
    v: Literal[2] | MISSING = Field(default=MISSING, description="format 2: signed over RFC 8785 bytes")


class Commitment(Closed):
    version: int
    n_items: int
    root: Hex64 | None
    statement: Statement | None
    signature: str | None = Field(description="Ed25519, base64")
    public_key: str = Field(description="base64")
    revealed: bool


class RevealResult(Closed):
    hidden_set: str
    version: int
    items: int
    complete: bool


class RevealDocumentItemsItem(Closed):
    index: int = Field(ge=0)
    salt: Hex64
    item: str = Field(description="canonical JSON of {id, input, label}")
    proof: list[Hex64] | MISSING = Field(
        default=MISSING, description="RFC 6962 inclusion proof; only in partial reveals"
    )


class RevealDocument(Closed):
    format: Literal["arena.hidden-set-reveal/v1"]
    statement: Statement | None
    signature: str | None
    public_key: str
    complete: bool
    items: list[RevealDocumentItemsItem]


class LeaderboardEntry(Closed):
    rank: int = Field(ge=1)
    team: str
    factories: list[str]
    score: float
    submission_id: str
    ci_low: float | None
    ci_high: float | None
    rank_band: int = Field(description="best possible rank: 1 + entries whose interval beats this one's", ge=1)
    method_card: dict[str, Any] | None = Field(description="the entry's method card, from the log")
    secondary: dict[str, dict[str, Any] | None] | None = Field(
        description="each secondary metric's {score, ci_low, ci_high} on the public split "
        "(null where it could not score)"
    )
    slices: dict[str, dict[str, Any]] | MISSING = Field(
        default=MISSING,
        description=(
            "only where labels carry slices: each labelled slice's {score, ci_low, "
            "ci_high, n_items} on the public split, for slices of at least 30 "
            "items; shown, never ranked"
        ),
    )


class Leaderboard(Closed):
    challenge: str
    title: str
    metric: str
    secondary_metrics: list[str]
    higher_is_better: bool
    entries: list[LeaderboardEntry]


class TeamHistoryReleasedItem(Closed):
    at: Timestamp
    score: float
    submission_id: str


class TeamHistory(Closed):
    challenge: str
    team: str
    released: list[TeamHistoryReleasedItem]
