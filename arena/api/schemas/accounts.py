"""Who you are, tokens, teams, the audit trail, and the error every operation answers with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from arena.api.schemas._base import MAX_ID, Closed, RequestBody, Timestamp


class ErrorDetail(Closed):
    code: str = Field(
        description=(
            "e.g. bad_request, unauthorized, forbidden, not_found, conflict, "
            "payload_too_large, request_entity_too_large, quota_exceeded, "
            "rate_limited"
        )
    )
    message: str = Field(description="safe to show")


class Error(Closed):
    error: ErrorDetail


class Health(Closed):
    status: Literal["ok"]


class SigningKey(Closed):
    algorithm: Literal["Ed25519"]
    public_key: str = Field(description="the log's key, base64")
    key_id: str = Field(description="first 8 hex digits of SHA-256 of the key")
    commitment_key: str = Field(description="the key signing commitments, base64")
    commitment_key_id: str


class Me(Closed):
    role: Literal["organiser", "team", "administrator"]
    id: int
    name: str


class Token(Closed):
    id: int
    role: Literal["organiser", "team", "administrator"]
    team_id: int | None
    organiser_id: int | None
    label: str | None
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None


class NewToken(Token):
    """A new token: the secret is shown once."""

    token: str = Field(description="shown once")


class TokenList(Closed):
    tokens: list[Token]


class AuditEvent(Closed):
    id: int
    at: Timestamp
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


class AuditTrail(Closed):
    events: list[AuditEvent]


class TeamListTeamsItemFactoriesItem(Closed):
    factory: str
    share: float
    percent: str


class TeamListTeamsItemRegistrationsItem(Closed):
    challenge: str
    status: str
    kpi_misses: int


class TeamListTeamsItem(Closed):
    id: int
    team: str
    created_at: Timestamp
    factories: list[TeamListTeamsItemFactoriesItem]
    registrations: list[TeamListTeamsItemRegistrationsItem]


class TeamList(Closed):
    teams: list[TeamListTeamsItem]


class TeamCreated(Closed):
    team: str
    id: int
    token: str = Field(description="shown once")


class CreateTokenBody(RequestBody):
    label: str = Field(default="", description="kept to 100 characters")
    days: int | None = Field(default=None, description="expiry; none: never", ge=1, le=3650)
    team_id: int | None = Field(
        default=None,
        description="a token for this team: the team, the organiser that created it, or the administrator",
        ge=1,
        le=MAX_ID,
    )


class CreateTeamBody(RequestBody):
    name: str = Field(description="1-100 characters: letters, digits, _, spaces and . , ' & ( ) -")
    factories: list[str] = Field(
        default_factory=list, description="NAME or NAME:SHARE; default one factory named after the team"
    )
