"""Server-rendered pages for the three audiences: the public (no sign-in), teams and organisers
(signed in with their token, exchanged for a session cookie). No JavaScript needed to read,
nothing fetched from outside: the platform runs offline."""

from flask import Flask, url_for

from arena.web._views import bp


def init_app(app: Flask) -> None:
    from arena.web import _session, console, public, team  # noqa: F401 - they add their routes to bp

    platform = app.extensions["arena"]
    app.secret_key = platform.session_secret or platform.signer.derive("web-session")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=platform.settings.public_url.startswith("https://"),
        SESSION_COOKIE_NAME="arena_session",
    )
    from arena.units import gpu_hours, percent

    app.jinja_env.globals.update(
        csrf_token=_session.csrf_token,
        current_user=_session.current,
        public_url=lambda endpoint, **values: platform.settings.public_url + url_for(endpoint, **values),
        gpu_hours=gpu_hours,
        percent=percent,
    )
    app.register_blueprint(bp)
