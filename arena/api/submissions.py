from flask import Blueprint, Response, send_file

from arena.api._auth import platform, principal, require
from arena.api._body import parse_body
from arena.api._query import or_none, parse_query
from arena.api.schemas.params import ChallengeQuery
from arena.api.schemas.submissions import ReadHiddenLogBody, SelectSubmissionBody, SetMethodCardBody
from arena.services import environments, rosters, submissions

bp = Blueprint("api_submissions", __name__, url_prefix="/api/submissions")


@bp.get("")
@require("organiser", "team", "administrator")
def index():
    """Submissions, newest first (?challenge=SLUG for one challenge's). A team gets its own, with
    each one's receipt in the public log, and its quota left today."""
    slug = or_none(parse_query(ChallengeQuery).challenge)
    if principal().role == "team":
        return rosters.team_submissions(platform(), team=principal(), slug=slug)
    return {"submissions": submissions.list_submissions(platform(), principal=principal(), slug=slug)}


@bp.get("/<submission_id>")
@require("organiser", "team", "administrator")
def show(submission_id: str):
    return submissions.get_submission(platform(), principal=principal(), submission_id=submission_id)


@bp.get("/<submission_id>/log")
@require("organiser", "team", "administrator")
def log(submission_id: str):
    return submissions.get_log(platform(), principal=principal(), submission_id=submission_id)


@bp.get("/<submission_id>/predictions")
@require("team", "organiser", "administrator")
def predictions(submission_id: str):
    path = submissions.sample_predictions(platform(), principal=principal(), submission_id=submission_id)
    return send_file(path, mimetype="application/jsonl")


@bp.get("/<submission_id>/trajectory")
@require("organiser", "team", "administrator")
def trajectory(submission_id: str):
    """An agent run's messages and tool calls, as JSON lines: the challenge's organisers and the
    administrator (audited), or the team for its sample runs."""
    data = environments.read_trajectory(
        platform(), principal=principal(), submission_id=submission_id, actor=principal()
    )
    return Response(data, mimetype="application/jsonl")


@bp.post("/<submission_id>/selection")
@require("team")
def select(submission_id: str):
    """{"selected": true|false}: whether this submission counts for the final (private) ranking."""
    chosen = parse_body(SelectSubmissionBody).selected
    return submissions.select_for_final(platform(), principal=principal(), submission_id=submission_id, selected=chosen)


@bp.put("/<submission_id>/method-card")
@require("team")
def method_card(submission_id: str):
    """{"name", "description", "code_url", "licence", "open_source"}: what this entry is."""
    card = parse_body(SetMethodCardBody).model_dump(exclude_unset=True)
    return submissions.set_method_card(platform(), principal=principal(), submission_id=submission_id, card=card)


@bp.post("/<submission_id>/log-reads")
@require("organiser", "administrator")
def read_log(submission_id: str):
    """{"reason": "..."}: read a hidden run's log, an audited action the team is told of."""
    reason = parse_body(ReadHiddenLogBody).reason
    return submissions.read_hidden_log(
        platform(), principal=principal(), submission_id=submission_id, reason=reason
    ), 201
