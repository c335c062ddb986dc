from flask import Blueprint, request, send_file

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


@bp.get("/<submission_id>/log")
@require("organiser", "team")
def log(submission_id: str):
    return submissions.get_log(platform(), principal=principal(), submission_id=submission_id)


@bp.get("/<submission_id>/predictions")
@require("team", "organiser")
def predictions(submission_id: str):
    path = submissions.sample_predictions(platform(), principal=principal(), submission_id=submission_id)
    return send_file(path, mimetype="application/jsonl")
