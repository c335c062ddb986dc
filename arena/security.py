"""What every answer carries and every request is held to, whatever its route: a cap on the
body's size (with larger caps for the few routes that stream uploads), and security headers.

The cap is Werkzeug's `max_content_length`: a body whose declared length is over it is refused
with 413 before a byte of it is read, and a body without a declared length is cut off at it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, request

from arena.config import Settings

NODE_LOG_TAIL = 64 * 1024  # arena.api.node.MAX_LOG_TAIL: the log file a node posts beside predictions


def _uploads_part(_settings: Settings) -> int:
    from arena.services.uploads import MAX_PART_BYTES

    return MAX_PART_BYTES


# The routes that stream a large body, each under its own limit (the endpoint's name → the limit).
LARGE_BODIES: dict[str, Callable[[Settings], int]] = {
    "api_challenges.create": lambda s: s.max_bundle_bytes,
    "api_challenges.add_version": lambda s: s.max_bundle_bytes,
    "web.console_new_challenge": lambda s: s.max_bundle_bytes,
    "api_challenges.submit": lambda s: s.max_image_bytes,
    "api_challenges.set_environment": lambda s: s.max_image_bytes,  # an agent challenge's environment image
    "api_uploads.part": _uploads_part,
    "api_node.result": lambda s: s.max_predictions_bytes + 2 * NODE_LOG_TAIL,
}

# Pages load their own style sheet and script and nothing else; no page may be framed but the
# embeddable leaderboard, which any site may frame.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)
FRAMEABLE = {"web.embed"}


def cap_body_size() -> None:
    """Before any view: the request's body limit, the global one unless the route streams uploads
    (and the body is not JSON: a JSON body is read whole, so it always has the global limit)."""
    settings = current_app.extensions["arena"].settings
    larger = LARGE_BODIES.get(request.endpoint or "")
    if larger is not None and request.mimetype != "application/json":  # streamed
        request.max_content_length = larger(settings)
    else:
        request.max_content_length = settings.max_request_bytes


def security_headers(response: Response) -> Response:
    frameable = request.endpoint in FRAMEABLE
    response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors="*" if frameable else "'none'"))
    if not frameable:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.extensions["arena"].settings.public_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = app.extensions["arena"].settings.max_request_bytes
    app.before_request(cap_body_size)
    app.after_request(security_headers)
