"""Commands that run on the server's machine, against ARENA_HOME directly: `arena serve`, `worker`
and `db upgrade` here; `admin` (admin_cmds), `keys` (keys_cmds), `rewards grant|check`
(grant_cmds), `node-run` (node_cmds) and `site-agent` (site_cmds) beside them, added by
`register`."""

from __future__ import annotations

import signal
import sys
import threading

import click

from arena.cli.logging_setup import configure_logging
from arena.cli.server_home import init_option, server_platform, where
from hidden_sets import HiddenSetError


def _stop_on_sigterm() -> None:
    def handler(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Serve only; run evaluations with `arena worker`.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Production mode when above 1: the API under gunicorn with this many processes, "
    "and no evaluation worker (run `arena worker` processes beside it).",
)
def serve(host: str, port: int, no_worker: bool, workers: int) -> None:
    """Serve the API and the public pages, with an evaluation worker in the same process.

    Data lives under ARENA_HOME (default ./var): the SQLite database, the encrypted hidden sets,
    uploaded images and, on first start, a development master key. Stop with Ctrl-C.

    Production: set ARENA_DATABASE_URL to PostgreSQL, serve with --workers N (gunicorn), and run
    `arena worker` processes, on this machine or others sharing ARENA_HOME's blob folder.
    """
    from werkzeug.serving import make_server

    from arena import create_app
    from arena.db import upgrade
    from arena.worker import Worker

    configure_logging()
    if workers > 1:
        _gunicorn(host, port, workers)
    try:
        app = create_app()
    except HiddenSetError as exc:
        raise click.ClickException(str(exc)) from None
    platform = app.extensions["arena"]
    upgrade(platform.engine)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port") from None
    stop = threading.Event()
    if platform.settings.embedded_worker and not no_worker:
        threading.Thread(target=Worker(platform).run_forever, args=(stop,), daemon=True, name="arena-worker").start()
    _stop_on_sigterm()
    click.echo(f"Arena is serving at http://{host}:{port}  ({where(platform.settings)})", err=True)
    _first_organiser_hint(platform)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()


def _first_organiser_hint(platform) -> None:
    """On a server with no organiser yet, the command that makes the first one."""
    from sqlalchemy import select

    from arena.models import Organiser

    with platform.sessions() as session:
        if session.scalar(select(Organiser.id).limit(1)) is not None:
            return
    settings = platform.settings
    prefix = f"ARENA_HOME={settings.home} " + (
        "ARENA_DATABASE_URL=... " if not settings.database_url.startswith("sqlite") else ""
    )
    click.echo(
        f"No organiser yet. Make the first one (it prints its token) with:\n"
        f'  {prefix}arena admin create-organiser "Your Organisation"',
        err=True,
    )


def _gunicorn(host: str, port: int, workers: int) -> None:
    """Migrate once, then replace this process with gunicorn serving arena.wsgi:app."""
    import os

    if not _has_module("gunicorn"):
        raise click.ClickException("--workers needs gunicorn: pip install 'arena[production]'")
    server_platform(init=True).engine.dispose()  # runs the migrations once, before the workers start
    click.echo(
        f"Arena is serving at http://{host}:{port} with {workers} gunicorn workers (evaluations: run `arena worker`)",
        err=True,
    )
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "--timeout",
            "600",
            "arena.wsgi:app",
        ],
    )


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@click.command()
@click.option("--once", is_flag=True, help="Run queued jobs until none is left, then exit.")
def worker(once: bool) -> None:
    """Run an evaluation worker alone: claim queued jobs, run them in the sandbox, score them."""
    from arena.worker import Worker

    configure_logging()
    platform = server_platform(init=True)  # like `arena serve`, a worker may start on a fresh home
    runner = Worker(platform)
    if once:
        runner.start_up()
        click.echo(f"ran {runner.drain()} job(s)", err=True)
        return
    _stop_on_sigterm()
    stop = threading.Event()
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@init_option
def db_upgrade(init: bool) -> None:
    """Bring the database schema to the newest version (--init: make a new database)."""
    server_platform(init=init)
    click.echo("database schema is up to date", err=True)


def register(group: click.Group) -> None:
    from arena.cli.admin_cmds import admin
    from arena.cli.grant_cmds import rewards_check, rewards_grant
    from arena.cli.keys_cmds import keys
    from arena.cli.node_cmds import node_run
    from arena.cli.round_cmds import rewards_group
    from arena.cli.site_cmds import site_agent

    for command in (serve, worker, admin, db, keys, node_run, site_agent):
        group.add_command(command)
    rewards_group.add_command(rewards_grant)
    rewards_group.add_command(rewards_check)
