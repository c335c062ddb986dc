from flask import Blueprint

from arena.api._auth import platform, principal, require
from arena.api._body import parse_body
from arena.api.schemas.accounts import CreateTokenBody
from arena.services import accounts, audit

bp = Blueprint("api_meta", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return {"status": "ok"}


@bp.get("/signing-key")
def signing_key():
    """The platform's public keys: the log's (entries, checkpoints; commitments before format 2) and
    the commitments' (see also /.well-known/arena-keys.json)."""
    log, commitments = platform().signer, platform().commitments_signer
    return {
        "algorithm": "Ed25519",
        "public_key": log.public_key,
        "key_id": log.key_id,
        "commitment_key": commitments.public_key,
        "commitment_key_id": commitments.key_id,
    }


@bp.get("/me")
@require("organiser", "team", "administrator")
def me():
    who = principal()
    return {"role": who.role, "id": who.id, "name": who.name}


@bp.get("/tokens")
@require("organiser", "team", "administrator")
def tokens():
    """The tokens you may revoke (your own; an organiser's, also those of the teams it created; the
    administrator's, all), never the secrets themselves."""
    return {"tokens": accounts.list_tokens(platform(), actor=principal())}


@bp.post("/tokens")
@require("organiser", "team", "administrator")
def create_token():
    """A new token: {"label": …, "days": N (expiry, optional), "team_id": N (a team: the team itself,
    the organiser that created it, or the administrator)}."""
    body = parse_body(CreateTokenBody)
    view, token = accounts.create_token(
        platform(), actor=principal(), team_id=body.team_id, label=body.label, days=body.days
    )
    return {**view, "token": token}, 201


@bp.delete("/tokens/<int(max=2147483647):token_id>")
@require("organiser", "team", "administrator")
def revoke_token(token_id: int):
    return accounts.revoke_token(platform(), actor=principal(), token_id=token_id)


@bp.get("/audit")
@require("organiser", "administrator")
def audit_trail():
    """The latest state-changing actions, newest first, with their actors: for an organiser, its
    own and those on the challenges it runs; for the administrator, all."""
    return {"events": audit.list_events(platform(), who=principal())}
