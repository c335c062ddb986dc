"""The public log: entries, the signed tree head, and a challenge's export for `arena verify`."""

import re

from flask import Blueprint, request

from arena.api._auth import MAX_ID, platform
from arena.errors import BadRequest
from arena.services import publiclog
from arena.services.challenges import describe_challenge

bp = Blueprint("api_log", __name__, url_prefix="/api")


def _bounded(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    value = default if raw is None else (int(raw) if re.fullmatch(r"[0-9]{1,12}", raw) else None)
    if value is None or not 0 <= value <= high:
        raise BadRequest(f"?{name}= must be a whole number from 0 to {high}")
    return value


@bp.get("/log")
def entries():
    """Log entries in order (?challenge=, ?start= sequence number, ?limit= at most 1000)."""
    challenge = request.args.get("challenge") or None
    start, limit = _bounded("start", 0, MAX_ID), _bounded("limit", 1000, 1000)
    return {"size": publiclog.size(platform()),
            "entries": publiclog.entries(platform(), challenge=challenge, start=start, limit=limit)}


@bp.get("/log/tree-head")
def tree_head():
    """The signed head of the log's RFC 6962 tree: its size and root."""
    return publiclog.tree_head(platform())


@bp.get("/challenges/<slug>/log/export")
def export(slug: str):
    """Everything needed to check this challenge's board offline with `arena verify`."""
    describe_challenge(platform(), slug=slug)
    return publiclog.export(platform(), challenge=slug)
