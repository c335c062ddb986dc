from flask import Blueprint, request

from arena.api._auth import platform, principal, require
from arena.services import submissions

bp = Blueprint("api_submissions", __name__, url_prefix="/api/submissions")


@bp.get("")
@require("organiser", "team")
def index():
    found = submissions.list_submissions(
        platform(), principal=principal(), slug=request.args.get("challenge")
    )
    return {"submissions": found}


@bp.get("/<submission_id>")
@require("organiser", "team")
def show(submission_id: str):
    return submissions.get_submission(platform(), principal=principal(), submission_id=submission_id)
