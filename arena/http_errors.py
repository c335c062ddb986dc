"""Errors as HTTP answers: JSON under /api, a page elsewhere. Internal errors show a reference only."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from arena.errors import UserFacingError

log = logging.getLogger("arena.http")

HINTS = {
    404: "Check the address; the list of challenges is at /.",
    405: "This address does not take that method; see docs/api.md or /api/openapi.json.",
    413: "The request is larger than this server accepts.",
}


def _answer(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        response = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(UserFacingError)
    def user_error(exc: UserFacingError):
        return _answer(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = f"{exc.name}. {HINTS.get(exc.code or 0, '')}".strip()
        return _answer(exc.code or 500, exc.name.lower().replace(" ", "_"), message)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        reference = secrets.token_hex(6)
        log.exception("internal error, reference %s", reference)
        return _answer(500, "internal", f"internal error; the operators can trace it by reference {reference}")
