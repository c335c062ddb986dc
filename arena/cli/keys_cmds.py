"""`arena keys`: the master keys that wrap the hidden sets' data keys, on the server's machine."""

from __future__ import annotations

import json

import click

from arena.cli.server_home import init_option, run_service, server_platform


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

    rows = service.list_keys(server_platform(init=init))
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

    platform = server_platform(init=init)
    result = run_service(lambda: service.rotate(platform))
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

    platform = server_platform(init=init)
    result = run_service(lambda: service.retire(platform, key_id=key_id))
    click.echo(json.dumps(result) if as_json else f"retired {result['retired']}")
