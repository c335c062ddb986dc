"""Rounds and their payout reports: public to read; closing and re-admitting are the organiser's."""

from __future__ import annotations

from flask import Blueprint, Response, request

from arena.api._auth import json_body, platform, principal, require
from arena.api._body import parse_body
from arena.api._query import or_none, parse_query
from arena.api.schemas.params import RoundQuery
from arena.api.schemas.rounds import CloseRoundBody
from arena.services import programme, rounds

bp = Blueprint("api_rounds", __name__, url_prefix="/api/challenges")


@bp.get("/<slug>/rounds")
def index(slug: str):
    """The schedule, each round's state and pools, and the rules that decide the awards."""
    return rounds.list_rounds(platform(), slug=slug)


def _round_arg() -> int | None:
    return or_none(parse_query(RoundQuery).round)


@bp.get("/<slug>/rewards")
def report(slug: str):
    """A closed round's signed payout report (?round=N, default the latest closed)."""
    return rounds.get_report(platform(), slug=slug, number=_round_arg())


@bp.get("/<slug>/rewards.csv")
def report_csv(slug: str):
    found = rounds.get_report(platform(), slug=slug, number=_round_arg())["report"]
    return Response(
        rounds.report_csv(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}-round-{found["round"]}-rewards.csv"'},
    )


@bp.post("/<slug>/rounds/close")
@require("organiser", "administrator")
def close(slug: str):
    """{"early": true} to close a round before its end (the report records it)."""
    early = parse_body(CloseRoundBody).early if request.get_data() else False
    return rounds.close_round(platform(), organiser=principal(), slug=slug, early=early)


@bp.post("/<slug>/teams/<team>/readmit")
@require("organiser", "administrator")
def readmit(slug: str, team: str):
    """Let an eliminated team take part again."""
    return rounds.readmit(platform(), organiser=principal(), slug=slug, team=team)


@bp.post("/<slug>/rounds")
@require("organiser", "administrator")
def add(slug: str):
    """Append rounds to a running challenge: {"rounds": [...], "kpi": …, "rewards": …} (kpi and
    rewards optional: left out, the rules in force go on). Logged, signed; 201 the new schedule."""
    return programme.append_rounds(platform(), organiser=principal(), slug=slug, doc=json_body()), 201
