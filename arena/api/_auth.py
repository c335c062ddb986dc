"""Bearer-token authentication for API views."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Request, current_app, g, request

from arena.api.schemas._base import MAX_ID as MAX_ID  # the web pages check ids with it too
from arena.errors import BadRequest, Forbidden, TooManyRequests
from arena.ratelimit import retry_after
from arena.runtime import Platform
from arena.services.accounts import Principal, authenticate


def platform() -> Platform:
    return current_app.extensions["arena"]


def scratch_dir() -> Path:
    """Memory-backed scratch space: uploaded hidden sets are staged here, never on a disk."""
    path = platform().settings.scratch_dir
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


class ArenaRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        """Multipart file parts go to unlinked files in the memory-backed scratch folder."""
        return tempfile.TemporaryFile("rb+", dir=scratch_dir())


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal() -> Principal:
    return g.principal


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def require(*roles: str) -> Callable:
    """Authenticate the request; refuse principals whose role is not in `roles`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            token = bearer_token()
            who = authenticate(platform(), token=token)
            wait = current_app.extensions["arena.ratelimit"].allow(f"{who.role}:{who.id}")
            if wait:
                raise TooManyRequests(
                    f"too many requests from your {who.role} (all its tokens together); "
                    f"try again in {retry_after(wait)} s",
                    headers={"Retry-After": retry_after(wait)},
                )
            if who.role not in roles:
                wanted = " or ".join(f"{_article(r)} {r}" for r in roles)
                raise Forbidden(f"this needs {wanted} token; yours is {_article(who.role)} {who.role} token")
            g.principal = who
            return view(*args, **kwargs)

        return wrapped

    return decorate


def json_body() -> dict:
    try:
        body = request.get_json(silent=True)
        if request.content_length is None:  # sent without a length: read up to the cap, so one
            request.stream.read(1)  # more byte tells whether it went past it (413)
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    if not valid_unicode(body):
        raise BadRequest("the JSON body holds text that is not valid Unicode (a lone surrogate)")
    return body


def valid_unicode(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True
