"""The error answers every operation shares, and the kinds of bearer credential."""

from __future__ import annotations

from typing import Any

ERRORS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_RETRY = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
_OFFSET = {
    "Upload-Offset": {
        "description": "the bytes the server has; send from there (absent when the upload is complete already)",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _ERROR}
    if headers:
        answer["headers"] = headers
    return answer


RESPONSES: dict[str, Any] = {
    "BadRequest": _error("invalid request (the message says what)"),
    "Unauthorized": _error("missing, unknown, revoked or expired token"),
    "Forbidden": _error("a token of the wrong role, or not the owner"),
    "NotFound": _error("no such resource (or not one you may see)"),
    "Conflict": _error("conflicts with the current state"),
    "UploadConflict": _error(
        "not at the offset the server has, or the upload is incomplete, or complete already", _OFFSET
    ),
    "PayloadTooLarge": _error("the request or upload is larger than allowed"),
    "TooManyRequests": _error(
        "too many requests from this team or organiser (rate_limited), or the daily quota, the pending "
        "submissions or the room for uploads not yet submitted spent (quota_exceeded)",
        _RETRY,
    ),
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an organiser or team token (arena_...)"},
    "siteCredential": {
        "type": "http",
        "scheme": "bearer",
        "description": "a site agent's credential (arena_site_...), made by `arena admin create-site`",
    },
    "nodeCredential": {
        "type": "http",
        "scheme": "bearer",
        "description": "a GPU node's credential for one job (arena_node_...), in its batch script",
    },
}
