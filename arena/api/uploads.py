"""Resumable uploads of image tarballs, for large images over bad links."""

from flask import Blueprint, request

from arena.api._auth import json_body, platform, principal, require
from arena.errors import BadRequest
from arena.services import uploads

bp = Blueprint("api_uploads", __name__, url_prefix="/api/uploads")


@bp.post("")
@require("team")
def start():
    """Declare an upload: {"size": bytes, "sha256": hex}. Then PUT parts, then complete."""
    body = json_body()
    size, sha256 = body.get("size"), body.get("sha256")
    if not isinstance(size, int) or isinstance(size, bool) or not isinstance(sha256, str):
        raise BadRequest('send {"size": <bytes>, "sha256": "<64 hex digits>"}')
    return uploads.start(platform(), team_id=principal().id, size=size, sha256=sha256.lower()), 201


@bp.get("/<upload_id>")
@require("team")
def status(upload_id: str):
    """How many bytes the server has: resume from there."""
    return uploads.status(platform(), team_id=principal().id, upload_id=upload_id)


@bp.put("/<upload_id>")
@require("team")
def part(upload_id: str):
    """The next part, as the raw body, at ?offset= the server's received count."""
    offset = request.args.get("offset", type=int)
    if offset is None or offset < 0:
        raise BadRequest("give ?offset=N: the number of bytes the server has (GET the upload to see)")
    return uploads.append(platform(), team_id=principal().id, upload_id=upload_id, offset=offset,
                          stream=request.stream)


@bp.post("/<upload_id>/complete")
@require("team")
def complete(upload_id: str):
    """Check the size and SHA-256, check the tarball, and store the image for submitting."""
    return uploads.complete(platform(), team_id=principal().id, upload_id=upload_id)
