"""Logging for the long-running commands (`arena serve`, `worker`, `site-agent`): one handler on
stderr, plain lines or JSON objects as ARENA_LOG_FORMAT says."""

from __future__ import annotations

import logging
import sys


def configure_logging() -> None:
    """Log as ARENA_LOG_FORMAT says, and keep the development server's request lines quiet."""
    from arena.config import log_format

    setup_logging(log_format())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def setup_logging(style: str) -> None:
    """Plain lines, or with ARENA_LOG_FORMAT=json one JSON object a line (python-json-logger):
    time, level, logger, message, and any `extra` fields."""
    handler = logging.StreamHandler(sys.stderr)
    if style == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
