"""Bearer-token authentication for API views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request

from arena.errors import Forbidden
from arena.platform import Platform
from arena.services.accounts import Principal, authenticate


def platform() -> Platform:
    return current_app.extensions["arena"]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal() -> Principal:
    return g.principal


def require(*roles: str) -> Callable:
    """Authenticate the request; refuse principals whose role is not in `roles`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            who = authenticate(platform(), token=bearer_token())
            if who.role not in roles:
                raise Forbidden(f"this needs a {' or '.join(roles)} token; yours is a {who.role} token")
            g.principal = who
            return view(*args, **kwargs)

        return wrapped

    return decorate


def json_body() -> dict:
    from arena.errors import BadRequest

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    return body
