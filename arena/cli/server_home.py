"""What every server-side command shares: the ARENA_HOME it works on (refusing to make a new,
empty server unless given --init), the line saying which home and database it used, and service
errors told as one clear line."""

from __future__ import annotations

from pathlib import Path

import click

from arena.errors import UserFacingError
from hidden_sets import HiddenSetError

init_option = click.option(
    "--init",
    is_flag=True,
    help="Set up a new server here when ARENA_HOME holds none (its database, master key and signing "
    "key). Without it the command refuses, so a mistyped or unset ARENA_HOME never makes a "
    "second, empty server whose tokens the real one refuses.",
)


def _database_exists(settings) -> bool:
    """Whether the database exists and was set up (SQLite: its file; else: Alembic's table)."""
    from sqlalchemy import inspect

    from arena.db import make_engine

    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.split("///", 1)[-1]
        return path == ":memory:" or Path(path).is_file()
    engine = make_engine(settings.database_url)
    try:
        return inspect(engine).has_table("alembic_version")
    except Exception as exc:  # noqa: BLE001 - any failure to connect is told as such
        raise click.ClickException(f"cannot reach the database {_shown_url(settings)} ({type(exc).__name__})") from None
    finally:
        engine.dispose()


def missing_parts(settings) -> list[str]:
    """What a server's ARENA_HOME lacks: its database, its master key."""
    missing = [] if _database_exists(settings) else [f"no database at {_shown_url(settings)}"]
    if not settings.master_key_env and not settings.master_key_file.exists():
        missing.append(f"no master key at {settings.master_key_file}")
    return missing


def _shown_url(settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def where(settings) -> str:
    """The line every server command prints: which ARENA_HOME and database it used."""
    return f"ARENA_HOME={settings.home}  database={_shown_url(settings)}"


def server_platform(*, init: bool = False, quiet: bool = False):
    """The platform of the server's ARENA_HOME; refuses to make a new one unless `init`."""
    from arena.config import load_settings
    from arena.db import upgrade
    from arena.runtime import build_platform

    settings = load_settings()
    missing = missing_parts(settings)
    if missing and not init:
        raise click.ClickException(
            f"no Arena server here: {'; '.join(missing)} (ARENA_HOME={settings.home}). Run this on the "
            "server's machine with its ARENA_HOME (and ARENA_DATABASE_URL) set, or pass --init to set "
            "up a new server here."
        )
    try:
        platform = build_platform(settings)
    except HiddenSetError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(platform.engine)
    if not quiet:
        click.echo(("set up a new server: " if missing else "") + where(settings), err=True)
    return platform


def run_service(action):
    """`action()`, with a service's user-facing error (or a hidden-set error) as a ClickException."""
    try:
        return action()
    except (UserFacingError, HiddenSetError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from None
