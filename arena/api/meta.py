from flask import Blueprint

from arena.api._auth import platform, principal, require

bp = Blueprint("api_meta", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return {"status": "ok"}


@bp.get("/signing-key")
def signing_key():
    """The platform's public key: commitments (and the log) are signed with its private half."""
    return {"algorithm": "Ed25519", "public_key": platform().signer.public_key}


@bp.get("/me")
@require("organiser", "team")
def me():
    who = principal()
    return {"role": who.role, "id": who.id, "name": who.name}
