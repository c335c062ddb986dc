from flask import Blueprint, Response, request, send_file

from arena.api._auth import json_body, platform, principal, require
from arena.errors import BadRequest
from arena.services import environments, submissions

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


@bp.get("/<submission_id>/trajectory")
@require("organiser", "team")
def trajectory(submission_id: str):
    """An agent run's messages and tool calls, as JSON lines: the challenge's organiser (audited),
    or the team for its sample runs."""
    data = environments.read_trajectory(platform(), principal=principal(), submission_id=submission_id,
                                        actor=principal())
    return Response(data, mimetype="application/jsonl")


@bp.post("/<submission_id>/selection")
@require("team")
def select(submission_id: str):
    """{"selected": true|false}: whether this submission counts for the final (private) ranking."""
    chosen = json_body().get("selected")
    if not isinstance(chosen, bool):
        raise BadRequest('send {"selected": true} or {"selected": false}')
    return submissions.select_for_final(platform(), principal=principal(), submission_id=submission_id,
                                        selected=chosen)


@bp.put("/<submission_id>/method-card")
@require("team")
def method_card(submission_id: str):
    """{"name", "description", "code_url", "licence", "open_source"}: what this entry is."""
    return submissions.set_method_card(platform(), principal=principal(), submission_id=submission_id,
                                       card=json_body())
