"""Commands that run on the server's machine, against ARENA_HOME directly."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from arena.errors import UserFacingError
from hidden_sets import HiddenSetError


def configure_logging() -> None:
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


def _platform(*, init: bool = False, quiet: bool = False):
    """The platform of the server's ARENA_HOME; refuses to make a new one unless `init`."""
    from arena.config import load_settings
    from arena.db import upgrade
    from arena.platform import build_platform

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
    _platform(init=True).engine.dispose()  # runs the migrations once, before the workers start
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
    platform = _platform(init=True)  # like `arena serve`, a worker may start on a fresh home
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
def admin() -> None:
    """Administration on the server's machine (reads ARENA_HOME directly)."""


@admin.command("create-organiser")
@click.argument("name")
@init_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_organiser(name: str, init: bool, as_json: bool) -> None:
    """Create an organiser NAME and print its token (shown once; only its hash is stored).

    Run it on the server's machine with the server's ARENA_HOME (and ARENA_DATABASE_URL): it
    prints which it used, and refuses to set up a new, empty server unless given --init.
    """
    from arena.services.accounts import create_organiser as create

    try:
        who, token = create(_platform(init=init), name=name)
    except UserFacingError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"organiser": who.name, "id": who.id, "token": token}))
    else:
        click.echo(f"Organiser {who.name!r} created. Token (shown once, keep it safe):", err=True)
        click.echo(token)


@admin.command("create-administrator")
@click.argument("name")
@init_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_administrator(name: str, init: bool, as_json: bool) -> None:
    """Create a platform administrator NAME and print its token (shown once).

    The administrator is the only role that sees across challenges: every challenge's private
    scores, registrations and rounds, any team's tokens, the whole audit trail; it reads a hidden
    run's log only with a reason, like an organiser, and the team is told. It creates no
    challenges or teams. Made only here, on the server's machine, never through the API.
    """
    from arena.services.accounts import create_administrator as create

    try:
        who, token = create(_platform(init=init), name=name)
    except UserFacingError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"administrator": who.name, "id": who.id, "token": token}))
    else:
        click.echo(f"Administrator {who.name!r} created. Token (shown once, keep it safe):", err=True)
        click.echo(token)


@admin.command("create-site")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_site(name: str, as_json: bool) -> None:
    """Create the HPC site NAME (e.g. lumi-g) and print its agent's credential, shown once: give it
    to the site's HPC team for `arena site-agent`. Only its hash is stored; the act is audited."""
    from arena.services import sites

    site, token = _run(lambda: sites.create_site(_platform(), name=name))
    if as_json:
        click.echo(json.dumps({"site": site["name"], "token": token}))
    else:
        click.echo(f"Site {site['name']!r} created. Credential (shown once, keep it safe):", err=True)
        click.echo(token)


@admin.command("revoke-site")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def revoke_site(name: str, as_json: bool) -> None:
    """Revoke site NAME's credential: its agent is refused from its next call, and its running jobs
    are re-queued when their leases lapse (never counted against a team). Audited."""
    from arena.services import sites

    site = _run(lambda: sites.revoke_site(_platform(), name=name))
    click.echo(json.dumps(site) if as_json else f"revoked site {site['name']}")


@admin.command("sites")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_sites(as_json: bool) -> None:
    """The sites, their agents' last call and advertised partitions."""
    from arena.services import sites

    rows = sites.list_sites(_platform())
    if as_json:
        click.echo(json.dumps({"sites": rows}))
        return
    for row in rows:
        parts = ", ".join(
            f"{p['name']} ({p['architecture']}, {p['gpus_per_node']} {p['gpu_vendor'] or 'no'} GPU)"
            for p in (row["capabilities"] or {}).get("partitions", [])
        )
        state = "revoked" if row["revoked"] else f"last seen {row['last_seen_at'] or 'never'}"
        click.echo(f"{row['name']:<20} {state:<40} {parts}")


def _accounts(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        factory, sep, account = value.rpartition("=")
        if not sep or not factory or not account:
            raise click.BadParameter(f"{value!r} is not FACTORY=ACCOUNT", param_hint="--account")
        out[factory] = account
    return out


@click.command("grant")
@click.argument("challenge")
@click.option("--round", "number", required=True, type=click.IntRange(1, 10**6), help="The closed round's number.")
@click.option(
    "--account-prefix",
    default="arena-",
    show_default=True,
    help="A factory's Slurm account is this prefix and its name in lowercase ('LUMI' -> arena-lumi)...",
)
@click.option(
    "--account", "accounts", multiple=True, metavar="FACTORY=ACCOUNT", help="...unless mapped here (repeatable)."
)
@click.option(
    "--sacctmgr", default="sacctmgr", show_default=True, help="The sacctmgr command (with its SLURM_CONF, say)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rewards_grant(
    challenge: str, number: int, account_prefix: str, accounts: tuple[str, ...], sacctmgr: str, as_json: bool
) -> None:
    """Grant round N's GPU-minutes (from its signed report) to each factory's Slurm account: sets
    GrpTRESMins=gres/gpu=TOTAL, the sum of every grant to that account, with sacctmgr. Running it
    again changes nothing; each grant is audited and names the report's log entry."""
    from arena.services import grants
    from arena.slurm import SacctmgrCli, SlurmError

    try:
        done = _run(
            lambda: grants.grant(
                _platform(),
                slug=challenge,
                number=number,
                sacctmgr=SacctmgrCli(sacctmgr),
                prefix=account_prefix,
                overrides=_accounts(accounts),
            )
        )
    except SlurmError as exc:
        raise click.ClickException(f"sacctmgr failed: {exc}") from None
    if as_json:
        click.echo(json.dumps(done))
        return
    click.echo(f"{challenge} round {number} (report: log entry {done['report']['seq']})")
    for row in done["factories"]:
        state = "granted" if row["new"] else "already granted"
        click.echo(f"  {row['factory']:<24} {row['gpu_minutes']:>10} GPU-minutes -> {row['account']} ({state})")
    for account, minutes in done["limits"].items():
        click.echo(f"  {account}: GrpTRESMins=gres/gpu={minutes}")


@click.command("check")
@click.option("--sacctmgr", default="sacctmgr", show_default=True, help="The sacctmgr command.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rewards_check(sacctmgr: str, as_json: bool) -> None:
    """Compare each granted account's limit in Slurm with the sum of its grants (exit 1 on a
    difference)."""
    from arena.services import grants
    from arena.slurm import SacctmgrCli, SlurmError

    try:
        rows = grants.check(_platform(), sacctmgr=SacctmgrCli(sacctmgr))
    except SlurmError as exc:
        raise click.ClickException(f"sacctmgr failed: {exc}") from None
    if as_json:
        click.echo(json.dumps({"accounts": rows}))
    else:
        for row in rows:
            click.echo(
                f"{row['account']:<24} granted {row['granted']:>10}  slurm {row['slurm']}  "
                f"{'ok' if row['agrees'] else 'DIFFERS'}"
            )
    if not all(row["agrees"] for row in rows):
        sys.exit(1)


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@init_option
def db_upgrade(init: bool) -> None:
    """Bring the database schema to the newest version (--init: make a new database)."""
    _platform(init=init)
    click.echo("database schema is up to date", err=True)


@click.group()
def keys() -> None:
    """Master keys (on the server's machine): list, rotate, retire.

    The master keyring (ARENA_MASTER_KEY_FILE) wraps each hidden set's data key. Rotation adds a
    new primary key and re-wraps every data key without re-encrypting any data; a key can be
    retired once nothing is wrapped by it. Running servers pick up the new key on first use.
    """


@keys.command("list")
@init_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def keys_list(as_json: bool, init: bool = False) -> None:
    """List master keys: which is primary, and how many data keys each wraps."""
    from arena.services import keys as service

    rows = service.list_keys(_platform(init=init))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flag = "primary" if row["primary"] else "       "
        click.echo(f"{row['id']}  {flag}  wraps {row['data_keys']} data key(s)")


@keys.command("rotate")
@init_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def keys_rotate(as_json: bool, init: bool = False) -> None:
    """Add a new primary master key and re-wrap every data key under it."""
    from arena.services import keys as service

    platform = _platform(init=init)
    result = _run(lambda: service.rotate(platform))
    click.echo(
        json.dumps(result)
        if as_json
        else f"new primary key {result['primary']}; re-wrapped {result['rewrapped']} data key(s)"
    )


@keys.command("retire")
@init_option
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def keys_retire(key_id: str, as_json: bool, init: bool = False) -> None:
    """Remove master key KEY_ID; refused while any data key is still wrapped by it."""
    from arena.services import keys as service

    platform = _platform(init=init)
    result = _run(lambda: service.retire(platform, key_id=key_id))
    click.echo(json.dumps(result) if as_json else f"retired {result['retired']}")


def _run(action):
    try:
        return action()
    except (UserFacingError, HiddenSetError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from None


def register(group: click.Group) -> None:
    from arena.cli.node_cmds import node_run
    from arena.cli.round_cmds import rewards_group
    from arena.cli.site_cmds import site_agent

    for command in (serve, worker, admin, db, keys, node_run, site_agent):
        group.add_command(command)
    rewards_group.add_command(rewards_grant)
    rewards_group.add_command(rewards_check)
