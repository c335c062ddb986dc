"""Web sign-in: a token is exchanged once for a session cookie (HttpOnly, SameSite=Lax, Secure
when ARENA_PUBLIC_URL is https) that holds a random session id; the database keeps the id's hash
with the token's hash, and is asked on every request, so signing out, or revoking the token, ends
the session, for copies of the cookie too; so do 30 days. Every form that changes something
carries the session's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import wraps

from flask import g, redirect, request, session, url_for
from sqlalchemy import delete, select

from arena.errors import BadRequest, Unauthorized
from arena.models import WebSession
from arena.services import accounts
from arena.timeutil import utcnow


def _platform():
    from flask import current_app

    return current_app.extensions["arena"]


MAX_AGE = timedelta(days=30)  # a session ends after this, signed out or not


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def sign_in(token: str) -> accounts.Principal:
    who = accounts.authenticate(_platform(), token=token)
    sign_out()  # a session signed in before on this browser ends here
    session_id = secrets.token_urlsafe(32)
    with _platform().transaction() as db:
        db.execute(delete(WebSession).where(WebSession.created_at < utcnow() - MAX_AGE))
        db.add(WebSession(id_hash=_id_hash(session_id), token_hash=accounts.hash_token(token)))
    session["sid"] = session_id
    session["csrf"] = secrets.token_urlsafe(24)
    return who


def sign_out() -> None:
    """End the session in the database (a copied cookie stops working too), then forget it here."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        with _platform().transaction() as db:
            db.execute(delete(WebSession).where(WebSession.id_hash == _id_hash(session_id)))
    session.clear()


def _token_hash(session_id) -> str | None:
    if not isinstance(session_id, str):
        return None
    with _platform().sessions() as db:
        return db.scalar(
            select(WebSession.token_hash).where(
                WebSession.id_hash == _id_hash(session_id), WebSession.created_at >= utcnow() - MAX_AGE
            )
        )


def current() -> accounts.Principal | None:
    if "who" in g:
        return g.who
    token_hash = _token_hash(session.get("sid"))
    who = None
    if token_hash:
        try:
            who = accounts.authenticate_hash(_platform(), token_hash=token_hash)
        except Unauthorized:
            session.clear()
    elif "sid" in session:
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
        raise BadRequest("this form has expired or did not come from Arena's own page; reload the page and try again")


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
