"""Web sign-in: a token is exchanged once for a session cookie that holds only the token's hash
(HttpOnly, SameSite=Lax), checked against the database on every request, so revoking the token
ends the session. Every form that changes something carries the session's CSRF token."""

from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import g, redirect, request, session, url_for

from arena.errors import BadRequest, Unauthorized
from arena.services import accounts


def _platform():
    from flask import current_app

    return current_app.extensions["arena"]


def sign_in(token: str) -> accounts.Principal:
    who = accounts.authenticate(_platform(), token=token)
    session.clear()
    session["token_hash"] = accounts.hash_token(token)
    session["csrf"] = secrets.token_urlsafe(24)
    return who


def sign_out() -> None:
    session.clear()


def current() -> accounts.Principal | None:
    if "who" in g:
        return g.who
    token_hash = session.get("token_hash")
    who = None
    if token_hash:
        try:
            who = accounts.authenticate_hash(_platform(), token_hash=token_hash)
        except Unauthorized:
            session.clear()
    g.who = who
    return who


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        raise BadRequest("this form has expired or did not come from Arena's own page; "
                         "reload the page and try again")


def signed_in(*roles: str):
    """The view needs a session of one of `roles`; others are sent to the sign-in page."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            who = current()
            if who is None or who.role not in roles:
                return redirect(url_for("web.sign_in_page", role=roles[0], next=request.path))
            if request.method == "POST":
                check_csrf()
            return view(who, *args, **kwargs)
        return wrapped
    return decorate
