"""Sign-in and the team dashboard: submissions with status, reason, score and signed receipt;
sample runs with their logs and predictions; the quota left today; the final-submission choice."""

from __future__ import annotations

import re

from flask import redirect, render_template, request, send_file, url_for

from arena.errors import UserFacingError
from arena.services import dashboards, submissions
from arena.web import _session
from arena.web._views import bp, platform

# A path on this site: one slash, then only printable ASCII that needs no escaping. Browsers drop
# tabs and line breaks from a URL ("/\t/evil.example" becomes "//evil.example") and read "\" as
# "/", so neither may appear; a line break in a Location header would be a 500 besides.
SAFE_NEXT = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]{0,500}")


def _safe_next(value: str | None, role: str) -> str:
    default = url_for("web.console") if role in ("organiser", "administrator") else url_for("web.team")
    return value if value and SAFE_NEXT.fullmatch(value) else default


@bp.get("/sign-in")
def sign_in_page():
    role = request.args.get("role", "team")
    return render_template("sign_in.html", role=role, next=request.args.get("next", ""), error=None)


@bp.post("/sign-in")
def sign_in():
    role = request.form.get("role", "team")
    _session.check_csrf()
    try:
        who = _session.sign_in(request.form.get("token", "").strip())
    except UserFacingError as exc:
        return render_template("sign_in.html", role=role, next=request.form.get("next", ""), error=exc.message), 401
    return redirect(_safe_next(request.form.get("next"), who.role))


@bp.post("/sign-out")
def sign_out():
    _session.check_csrf()
    _session.sign_out()
    return redirect(url_for("web.index"))


@bp.get("/team")
@_session.signed_in("team")
def team(who):
    mine = submissions.list_submissions(platform(), principal=who)
    found = dashboards.receipts(platform(), submission_ids=[s["id"] for s in mine if s["kind"] == "hidden"])
    return render_template(
        "team.html",
        team=who.name,
        submissions=mine,
        receipts=found,
        quotas=dashboards.quotas(platform(), team_id=who.id),
        log_reads=submissions.team_log_reads(platform(), team_id=who.id),
    )


@bp.get("/team/submissions/<submission_id>")
@_session.signed_in("team")
def team_submission(who, submission_id: str):
    shown = submissions.get_submission(platform(), principal=who, submission_id=submission_id)
    log = (
        submissions.get_log(platform(), principal=who, submission_id=submission_id)
        if shown["kind"] == "sample"
        else None
    )
    return render_template("submission.html", submission=shown, log=log, organiser=False, error=None)


@bp.get("/team/submissions/<submission_id>/predictions")
@_session.signed_in("team")
def team_predictions(who, submission_id: str):
    path = submissions.sample_predictions(platform(), principal=who, submission_id=submission_id)
    return send_file(
        path, mimetype="application/jsonl", as_attachment=True, download_name=f"{submission_id}-predictions.jsonl"
    )


@bp.post("/team/submissions/<submission_id>/selection")
@_session.signed_in("team")
def team_select(who, submission_id: str):
    chosen = request.form.get("selected") == "true"
    submissions.select_for_final(platform(), principal=who, submission_id=submission_id, selected=chosen)
    return redirect(url_for("web.team") + "#submissions")
