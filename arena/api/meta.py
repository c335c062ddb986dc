from flask import Blueprint

from arena.api._auth import principal, require

bp = Blueprint("api_meta", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return {"status": "ok"}


@bp.get("/me")
@require("organiser", "team")
def me():
    who = principal()
    return {"role": who.role, "id": who.id, "name": who.name}
