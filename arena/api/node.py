"""The API a GPU node uses for the one job it runs (`arena node-run`), with that job's credential."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, request, send_file

from arena.api._auth import bearer_token, platform
from arena.errors import BadRequest, Unauthorized
from arena.services import nodes

bp = Blueprint("api_node", __name__, url_prefix="/api/node/jobs")
MAX_LOG_TAIL = 64 * 1024


def _ticket(job_id: str):
    return nodes.ticket(platform(), token=bearer_token(), job_id=job_id)


@bp.get("/<job_id>")
def spec(job_id: str):
    return nodes.spec(platform(), _ticket(job_id))


@bp.get("/<job_id>/image")
def image(job_id: str):
    """The submission's `docker save` tarball."""
    return send_file(nodes.image_file(platform(), _ticket(job_id)), mimetype="application/x-tar")


@bp.get("/<job_id>/environment-image")
def environment_image(job_id: str):
    """An agent job's environment image tarball (404 for any other job)."""
    return send_file(nodes.environment_image_file(platform(), _ticket(job_id)), mimetype="application/x-tar")


@bp.get("/<job_id>/inputs")
def inputs(job_id: str):
    """The job's inputs.jsonl, decrypted as it streams."""
    ticket = _ticket(job_id)
    return Response(
        nodes.input_lines(platform(), ticket), mimetype="application/jsonl", headers={"Cache-Control": "no-store"}
    )


@bp.get("/<job_id>/assets")
def assets(job_id: str):
    """The job's binary assets as an uncompressed tar of assets/…, decrypted as it streams."""
    length, chunks = nodes.asset_stream(platform(), _ticket(job_id))
    return Response(
        chunks, mimetype="application/x-tar", headers={"Cache-Control": "no-store", "Content-Length": str(length)}
    )


@bp.post("/<job_id>/result")
def result(job_id: str):
    """Multipart: verdict, exit_code, duration_s, output_too_large, and for an interactive run
    session_reason and session_detail when the model broke the protocol; files predictions
    (optional) and log (the container's output tail). Idempotent: the credential is spent by the
    first post, atomically; a repeat (a retry, or posts racing) is answered without recording. An
    agent run sends besides its trajectory and, as files named final_states (one per item, named
    item-N.tar.gz), each item's captured final state, scored here."""
    try:
        ticket = _ticket(job_id)
    except Unauthorized:
        if nodes.already_received(platform(), token=bearer_token(), job_id=job_id):
            return nodes.repeat_answer(job_id)
        raise
    agent = ticket.protocol == "agent"
    request.max_content_length = (
        platform().settings.max_predictions_bytes
        + 2 * MAX_LOG_TAIL
        + (nodes.agent_result_bytes(platform(), ticket) if agent else 0)
    )
    outcome, too_large = nodes.outcome_from(request.form)
    failure = nodes.session_failure_from(request.form)
    expected = {"predictions", "log"} | ({"trajectory", "final_states"} if agent else set())
    unknown = set(request.files) - expected
    if unknown:
        wanted = "predictions, log, trajectory and final_states" if agent else "predictions and log"
        raise BadRequest(f"unexpected file(s) {', '.join(sorted(unknown))}; send {wanted}")
    states = nodes.final_states_from(request.files.getlist("final_states")) if agent else []
    log_tail = request.files["log"].read(MAX_LOG_TAIL) if "log" in request.files else b""
    uploaded = request.files.get("predictions")
    if not nodes.spend(platform(), token=cast(str, bearer_token()), job_id=job_id):  # _ticket accepted it
        if nodes.already_received(platform(), token=bearer_token(), job_id=job_id):
            return nodes.repeat_answer(job_id)
        raise Unauthorized(nodes.INVALID)  # revoked or expired while this post came in

    def save(target):
        if uploaded is not None:
            uploaded.save(target)

    def save_agent(trajectory, folder):
        if "trajectory" in request.files:
            request.files["trajectory"].save(trajectory)
        for name, state in states:
            state.save(folder / name)

    return nodes.finish(
        platform(),
        ticket,
        outcome=outcome,
        output_too_large=too_large,
        log_tail=log_tail,
        save_predictions=save,
        failure=failure,
        save_agent=save_agent if agent else None,
    )
