"""The organiser console: create a challenge from a bundle, its versions and roots, the queue and
failures (with the encrypted logs), rounds with a preview before closing, re-admissions, audit."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from flask import redirect, render_template, request, url_for

from arena.api._auth import MAX_ID, scratch_dir
from arena.errors import UserFacingError
from arena.services import audit, challenges, dashboards, rounds, submissions
from arena.services.bundles import save_part
from arena.web import _session
from arena.web._views import bp, platform

UPLOADS = {
    "challenge_yaml": "challenge.yaml",
    "inputs": "inputs.jsonl",
    "labels": "labels.jsonl",
    "sample_inputs": "sample/inputs.jsonl",
    "sample_labels": "sample/labels.jsonl",
    "assets": "assets.tar",
    "sample_assets": "sample/assets.tar",
}


@bp.get("/console")
@_session.signed_in("organiser", "administrator")
def console(who):
    return render_template(
        "console.html",
        who=who,
        data=dashboards.console(platform(), who=who),
        events=audit.list_events(platform(), who=who, limit=30),
        euros=rounds.euros,
    )


@bp.route("/console/challenges/new", methods=["GET", "POST"])
@_session.signed_in("organiser")
def console_new_challenge(who):
    if request.method == "GET":
        return render_template("new_challenge.html", error=None, made=None)
    folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=scratch_dir()))
    try:
        for field, name in UPLOADS.items():
            storage = request.files.get(field)
            if storage is not None and storage.filename:
                save_part(folder, name, storage.stream)
        made = challenges.create_challenge(platform(), organiser_id=who.id, bundle_dir=folder, actor=who)
    except UserFacingError as exc:
        return render_template("new_challenge.html", error=exc.message, made=None), exc.status
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return render_template("new_challenge.html", error=None, made=made), 201


@bp.get("/console/challenges/<slug>/close")
@_session.signed_in("organiser", "administrator")
def console_close_preview(who, slug: str):
    try:
        preview = rounds.preview_close(platform(), organiser=who, slug=slug)
    except UserFacingError as exc:
        return render_template("error.html", status=exc.status, message=exc.message), exc.status
    return render_template("close_round.html", slug=slug, preview=preview, report=preview["report"], euros=rounds.euros)


@bp.post("/console/challenges/<slug>/close")
@_session.signed_in("organiser", "administrator")
def console_close(who, slug: str):
    closed = rounds.close_round(platform(), organiser=who, slug=slug, early=request.form.get("early") == "true")
    if closed["status"] == "closed":
        return redirect(url_for("web.round_report", slug=slug, number=closed["number"]))
    return redirect(url_for("web.console") + "#rounds")


@bp.post("/console/challenges/<slug>/readmit/<team>")
@_session.signed_in("organiser", "administrator")
def console_readmit(who, slug: str, team: str):
    rounds.readmit(platform(), organiser=who, slug=slug, team=team)
    return redirect(url_for("web.console") + "#teams")


@bp.get("/console/submissions/<submission_id>")
@_session.signed_in("organiser", "administrator")
def console_submission(who, submission_id: str):
    """A submission with its attempts and every split's score; a sample run's log. A hidden run's
    log only through the form below it, which names the reason (console_read_log)."""
    shown = submissions.get_submission(platform(), principal=who, submission_id=submission_id)
    log = (
        submissions.get_log(platform(), principal=who, submission_id=submission_id)
        if shown["kind"] == "sample"
        else None
    )
    return render_template("submission.html", submission=shown, log=log, organiser=True, error=None)


@bp.post("/console/submissions/<submission_id>/log")
@_session.signed_in("organiser", "administrator")
def console_read_log(who, submission_id: str):
    """Read a hidden run's log, with the reason given in the form: audited, and the team is told."""
    try:
        log = submissions.read_hidden_log(
            platform(), principal=who, submission_id=submission_id, reason=request.form.get("reason", "")
        )
    except UserFacingError as exc:
        shown = submissions.get_submission(platform(), principal=who, submission_id=submission_id)
        return render_template(
            "submission.html", submission=shown, log=None, organiser=True, error=exc.message
        ), exc.status
    shown = submissions.get_submission(platform(), principal=who, submission_id=submission_id)
    return render_template("submission.html", submission=shown, log=log, organiser=True, error=None)


def _whole(text: str) -> int:
    """A form's whole number, as ids are stored (up to 2^31 - 1); ValueError otherwise."""
    if not re.fullmatch(r"[0-9]{1,10}", text.strip()) or int(text) > MAX_ID:
        raise ValueError(text)
    return int(text)


@bp.route("/console/tokens", methods=["GET", "POST"])
@_session.signed_in("organiser", "administrator")
def console_tokens(who):
    """Tokens: list, make one (for a team or for yourself; shown once), revoke."""
    from arena.services import accounts

    made, error = None, None
    if request.method == "POST":
        try:
            if request.form.get("revoke"):
                accounts.revoke_token(platform(), actor=who, token_id=_whole(request.form["revoke"]))
            else:
                team = request.form.get("team_id", "").strip()
                days = request.form.get("days", "").strip()
                made = accounts.create_token(
                    platform(),
                    actor=who,
                    team_id=_whole(team) if team else None,
                    label=request.form.get("label", ""),
                    days=_whole(days) if days else None,
                )[1]
        except ValueError:
            error = "team id and days must be whole numbers"
        except UserFacingError as exc:
            error = exc.message
    return render_template("tokens.html", tokens=accounts.list_tokens(platform(), actor=who), made=made, error=error)
