from flask import Blueprint

from arena.api._auth import json_body, platform, principal, require
from arena.errors import BadRequest
from arena.services import accounts, rosters

bp = Blueprint("api_teams", __name__, url_prefix="/api/teams")


@bp.post("")
@require("organiser")
def create():
    body = json_body()
    name, factories = body.get("name"), body.get("factories", [])
    if not isinstance(name, str):
        raise BadRequest("'name' must be the team's name, as text")
    if not isinstance(factories, list) or not all(isinstance(f, str) for f in factories):
        raise BadRequest("'factories' must be a list of factory names")
    team, token = accounts.create_team(platform(), name=name, factories=factories, actor=principal())
    return {"team": team.name, "id": team.id, "token": token}, 201


@bp.get("")
@require("organiser")
def index():
    """Every team, with its factories and shares, and its registrations in your challenges."""
    return {"teams": rosters.list_teams(platform(), organiser=principal())}
