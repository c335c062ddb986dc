from flask import Blueprint

from arena.api._auth import platform, principal, require
from arena.api._body import parse_body
from arena.api.schemas.accounts import CreateTeamBody
from arena.services import accounts, rosters

bp = Blueprint("api_teams", __name__, url_prefix="/api/teams")


@bp.post("")
@require("organiser")
def create():
    body = parse_body(CreateTeamBody)
    team, token = accounts.create_team(platform(), name=body.name, factories=body.factories, actor=principal())
    return {"team": team.name, "id": team.id, "token": token}, 201


@bp.get("")
@require("organiser")
def index():
    """Every team, with its factories and shares, and its registrations in your challenges."""
    return {"teams": rosters.list_teams(platform(), organiser=principal())}
