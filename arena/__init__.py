"""Arena: a secret-benchmark competition platform.

`create_app` builds the Flask application; nothing connects to a database or an engine at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the team CLI and the node program import arena without Flask
    from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` overrides settings; its `RUNNER` may be a runner instance."""
    from flask import Flask

    from arena import api, security, web
    from arena.api._auth import ArenaRequest
    from arena.config import load_settings
    from arena.http_errors import register_error_handlers
    from arena.ratelimit import RateLimiter
    from arena.runtime import build_platform

    overrides = dict(test_config or {})
    runner = overrides.pop("RUNNER", None)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config["TESTING"] = bool(overrides.pop("TESTING", False))
    app.request_class = ArenaRequest
    settings = load_settings(overrides=overrides)
    app.extensions["arena"] = build_platform(settings, runner=runner)
    app.extensions["arena.ratelimit"] = RateLimiter(
        platform=app.extensions["arena"], per_minute=settings.rate_limit_per_minute
    )
    security.init_app(app)
    api.init_app(app)
    web.init_app(app)
    register_error_handlers(app)
    return app
