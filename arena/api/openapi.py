"""GET /api/openapi.json: the OpenAPI 3.1 document, generated from the declared contract
(`arena.api.contract`, its models in `arena.api.schemas`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint

from arena.api.contract import build_spec

bp = Blueprint("api_openapi", __name__, url_prefix="/api")


@cache
def document() -> dict[str, Any]:
    """Built once per process: the models do not change while it runs."""
    return build_spec()


@bp.get("/openapi.json")
def openapi():
    return document()
