"""Who organises a challenge: its owner lists, adds and removes co-organisers (`arena challenge
organisers|add-organiser|remove-organiser`)."""

from __future__ import annotations

import click

from arena.cli.client_cmds import _client, _emit, challenge, friendly, json_option
from arena.client import ClientError


def _people(found: dict) -> str:
    lines = [f"owner          {found['owner']['name']} (id {found['owner']['id']})"]
    lines += [f"co-organiser   {o['name']} (id {o['id']}, added {o['added_at']})" for o in found["co_organisers"]]
    return "\n".join(lines)


@challenge.command("organisers")
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def challenge_organisers(challenge_slug: str, as_json: bool) -> None:
    """Organisers: who runs CHALLENGE, its owner and its co-organisers.

    A challenge's organisers (and only they, besides the platform administrator) see everything
    private about it: its submissions with private scores, hidden-run logs (with a reason),
    registrations, rounds, versions and reveals.
    """
    _emit(_client().organisers(challenge_slug), as_json, _people)


@challenge.command("add-organiser")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("name")
@json_option
@friendly
def challenge_add_organiser(challenge_slug: str, name: str, as_json: bool) -> None:
    """Owner: make the organiser NAME a co-organiser of CHALLENGE (recorded in the audit trail).

    A co-organiser may do everything the owner may on CHALLENGE except adding or removing
    co-organisers.
    """
    _emit(_client().add_organiser(challenge_slug, name), as_json, _people)


@challenge.command("remove-organiser")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("name")
@json_option
@friendly
def challenge_remove_organiser(challenge_slug: str, name: str, as_json: bool) -> None:
    """Owner: stop the co-organiser NAME (its name, or its id) running CHALLENGE (audited)."""
    client = _client()
    found = client.organisers(challenge_slug)["co_organisers"]
    chosen = [o for o in found if o["name"] == name or str(o["id"]) == name]
    if not chosen:
        raise ClientError(
            f"{name!r} is not a co-organiser of {challenge_slug} (`arena challenge organisers "
            f"{challenge_slug}` lists them)"
        )
    _emit(client.remove_organiser(challenge_slug, chosen[0]["id"]), as_json, _people)
