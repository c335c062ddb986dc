"""`arena admin`: organisers, administrators and HPC sites, made on the server's machine against
ARENA_HOME directly (never through the API); each new holder's secret is printed once."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from arena.cli.server_home import init_option, run_service, server_platform


@click.group()
def admin() -> None:
    """Administration on the server's machine (reads ARENA_HOME directly)."""


def _print_created(kind: str, name: str, secret: str, *, as_json: bool, ident: int | None = None) -> None:
    """Print a new holder's secret, shown once: as JSON for scripts, or a line on stderr and the
    secret alone on stdout (so that a script capturing stdout gets just it)."""
    if as_json:
        fields: dict[str, object] = {kind: name} | ({"id": ident} if ident is not None else {})
        click.echo(json.dumps({**fields, "token": secret}))
        return
    word = "Credential" if kind == "site" else "Token"
    click.echo(f"{kind.capitalize()} {name!r} created. {word} (shown once, keep it safe):", err=True)
    click.echo(secret)


def _create_holder(kind: str, create: Callable, *, name: str, init: bool, as_json: bool) -> None:
    """Make an organiser or an administrator with the accounts service `create`; print its token."""
    who, token = run_service(lambda: create(server_platform(init=init), name=name))
    _print_created(kind, who.name, token, as_json=as_json, ident=who.id)


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

    _create_holder("organiser", create, name=name, init=init, as_json=as_json)


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

    _create_holder("administrator", create, name=name, init=init, as_json=as_json)


@admin.command("create-site")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_site(name: str, as_json: bool) -> None:
    """Create the HPC site NAME (e.g. lumi-g) and print its agent's credential, shown once: give it
    to the site's HPC team for `arena site-agent`. Only its hash is stored; the act is audited."""
    from arena.services import sites

    site, token = run_service(lambda: sites.create_site(server_platform(), name=name))
    _print_created("site", site["name"], token, as_json=as_json)


@admin.command("revoke-site")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def revoke_site(name: str, as_json: bool) -> None:
    """Revoke site NAME's credential: its agent is refused from its next call, and its running jobs
    are re-queued when their leases lapse (never counted against a team). Audited."""
    from arena.services import sites

    site = run_service(lambda: sites.revoke_site(server_platform(), name=name))
    click.echo(json.dumps(site) if as_json else f"revoked site {site['name']}")


@admin.command("sites")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_sites(as_json: bool) -> None:
    """The sites, their agents' last call and advertised partitions."""
    from arena.services import sites

    rows = sites.list_sites(server_platform())
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
