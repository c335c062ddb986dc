"""The one blueprint of the pages; the modules beside this one add their routes to it."""

from flask import Blueprint, current_app

bp = Blueprint("web", __name__)


def platform():
    return current_app.extensions["arena"]


FORM_LIMIT = 64 * 1024  # a sign-in, a selection, a token: small forms


@bp.before_request
def cap_form_size():
    """Forms are read (for their CSRF token) before a view runs: cap their size first. Only the
    bundle upload may be large, up to the same limit as the API's."""
    from flask import request

    large = request.endpoint == "web.console_new_challenge"
    request.max_content_length = platform().settings.max_bundle_bytes if large else FORM_LIMIT
