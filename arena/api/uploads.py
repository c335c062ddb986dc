"""Resumable uploads of image tarballs, for large images over bad links: a team's model images,
and an organiser's scorer images (container protocol v3)."""

from flask import Blueprint, request

from arena.api._auth import platform, principal, require
from arena.api._body import parse_body
from arena.api._query import parse_query
from arena.api.schemas.params import OffsetQuery
from arena.api.schemas.submissions import StartUploadBody
from arena.services import uploads

bp = Blueprint("api_uploads", __name__, url_prefix="/api/uploads")


def _owner() -> dict:
    who = principal()
    return {"team_id": who.id} if who.role == "team" else {"team_id": None, "organiser_id": who.id}


@bp.post("")
@require("team", "organiser")
def start():
    """Declare an upload: {"size": bytes, "sha256": hex}. Then PUT parts, then complete."""
    body = parse_body(StartUploadBody)
    return uploads.start(platform(), size=body.size, sha256=body.sha256.lower(), **_owner()), 201


@bp.get("/<upload_id>")
@require("team", "organiser")
def status(upload_id: str):
    """How many bytes the server has: resume from there."""
    return uploads.status(platform(), upload_id=upload_id, **_owner())


@bp.put("/<upload_id>")
@require("team", "organiser")
def part(upload_id: str):
    """The next part, as the raw body, at ?offset= the server's received count."""
    offset = parse_query(OffsetQuery).offset
    return uploads.append(platform(), upload_id=upload_id, offset=offset, stream=request.stream, **_owner())


@bp.post("/<upload_id>/complete")
@require("team", "organiser")
def complete(upload_id: str):
    """Check the size and SHA-256, check the tarball, and store the image for submitting."""
    return uploads.complete(platform(), upload_id=upload_id, **_owner())
