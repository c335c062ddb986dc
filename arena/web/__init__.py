"""Server-rendered public pages. No JavaScript needed, nothing fetched from outside."""

from flask import Blueprint, Flask, current_app, render_template, request

from arena.errors import UserFacingError
from arena.services import accounts, challenges, leaderboard, rounds, submissions

bp = Blueprint("web", __name__)


def _platform():
    return current_app.extensions["arena"]


@bp.get("/")
def index():
    return render_template("index.html", challenges=challenges.list_challenges(_platform()))


@bp.get("/challenges/<slug>")
def challenge(slug: str):
    detail = challenges.describe_challenge(_platform(), slug=slug)
    board = leaderboard.leaderboard(_platform(), slug=slug)
    schedule = rounds.list_rounds(_platform(), slug=slug)
    return render_template("challenge.html", challenge=detail, board=board, whiskers=_whiskers(board),
                           schedule=schedule, euros=rounds.euros)


@bp.get("/challenges/<slug>/rounds/<int(max=2147483647):number>")
def round_report(slug: str, number: int):
    """A closed round's payout report: ranking, intervals, KPI verdicts, awards per factory."""
    detail = challenges.describe_challenge(_platform(), slug=slug)
    found = rounds.get_report(_platform(), slug=slug, number=number)
    return render_template("round.html", challenge=detail, report=found["report"], entry=found["log_entry"],
                           euros=rounds.euros)


def _whiskers(board: dict) -> dict[str, dict]:
    """Positions (0-150 px) of each entry's interval and score, on one scale for the board."""
    values = [v for e in board["entries"] for v in (e["ci_low"], e["ci_high"], e["score"]) if v is not None]
    if not values:
        return {}
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(5 + 140 * (value - low) / span, 1)

    return {e["submission_id"]: {"low": x(e["ci_low"]), "high": x(e["ci_high"]), "score": x(e["score"])}
            for e in board["entries"] if e["ci_low"] is not None}


@bp.route("/team", methods=["GET", "POST"])
def team():
    """A team pastes its token to see its own submissions; the token is never put in a URL."""
    if request.method == "GET":
        return render_template("team.html", team=None, submissions=None, error=None)
    try:
        who = accounts.authenticate(_platform(), token=request.form.get("token", "").strip())
        if who.role != "team":
            raise UserFacingError("that is an organiser token; paste a team token")
        mine = submissions.list_submissions(_platform(), principal=who)
    except UserFacingError as exc:
        return render_template("team.html", team=None, submissions=None, error=exc.message), 401
    return render_template("team.html", team=who.name, submissions=mine, error=None)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
