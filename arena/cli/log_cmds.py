"""`arena log checkpoint` and `arena log proof ...`: fetch the log's signed checkpoint and RFC 9162
proofs, and check them here against the log key you trust before printing them."""

from __future__ import annotations

import base64
import json

import click

from arena.cli.audit import audit_command
from arena.cli.common import friendly, json_option, trusted_log_key
from arena.client import ArenaClient
from arena.tlog import Checkpoint, NoteError, NoteKey, open_checkpoint
from hidden_sets import verify_consistency, verify_inclusion

log_key_option = click.option(
    "--log-key",
    help="The log's verifier key (name+id+base64) you trust; default: the one the server "
    "publishes at /.well-known/arena-keys.json (check it against docs or a source you trust).",
)


def _open(note: str, key: NoteKey) -> Checkpoint:
    try:
        return open_checkpoint(note, key)[0]
    except NoteError as error:
        raise click.ClickException(f"the server's checkpoint does not check out: {error}") from None


@click.command("checkpoint")
@log_key_option
@json_option
@friendly
def checkpoint(log_key: str | None, as_json: bool) -> None:
    """Anyone: the log's latest signed checkpoint, checked, with its witnesses' cosignatures."""
    client = ArenaClient(token="")
    note = client.text("/log/checkpoint")
    point = _open(note, trusted_log_key(client, log_key))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "origin": point.origin,
                    "size": point.size,
                    "root": base64.b64encode(point.root).decode(),
                    "note": note,
                },
                indent=2,
            )
        )
    else:
        click.echo(note, nl=False)


@click.group("proof")
def proof() -> None:
    """RFC 9162 proofs from the server, checked here before they are printed."""


@proof.command("inclusion")
@click.argument("seq", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="The tree size to prove against (default: now).")
@log_key_option
@json_option
@friendly
def inclusion(seq: int, size: int | None, log_key: str | None, as_json: bool) -> None:
    """Prove that log entry SEQ is in the log's tree (of --size entries), under its signed checkpoint."""
    client = ArenaClient(token="")
    answer = client._request("GET", f"/api/log/proof/inclusion?seq={seq}" + (f"&size={size}" if size else ""))
    point = _open(answer["checkpoint"], trusted_log_key(client, log_key))
    hashes = [bytes.fromhex(h) for h in answer["proof"]]
    if point.size != answer["size"] or not verify_inclusion(
        index=seq, tree_size=point.size, leaf=bytes.fromhex(answer["leaf_hash"]), proof=hashes, root=point.root
    ):
        raise click.ClickException(f"the server's inclusion proof for entry {seq} does not verify")
    message = (
        f"entry {seq} (leaf {answer['leaf_hash']}) is in the log of size {point.size}: "
        f"{len(hashes)} hashes lead to the signed root {base64.b64encode(point.root).decode()}"
    )
    click.echo(json.dumps({**answer, "verified": True}, indent=2) if as_json else message)


@proof.command("consistency")
@click.argument("old_size", type=click.IntRange(min=0))
@click.option("--to", "new_size", type=click.IntRange(min=0), help="The newer tree size (default: now).")
@log_key_option
@json_option
@friendly
def consistency(old_size: int, new_size: int | None, log_key: str | None, as_json: bool) -> None:
    """Prove that the log of --to entries extends the log of OLD_SIZE entries (both checkpoints signed)."""
    client = ArenaClient(token="")
    answer = client._request(
        "GET", f"/api/log/proof/consistency?from={old_size}" + (f"&to={new_size}" if new_size is not None else "")
    )
    key = trusted_log_key(client, log_key)
    old, new = _open(answer["old_checkpoint"], key), _open(answer["new_checkpoint"], key)
    hashes = [bytes.fromhex(h) for h in answer["proof"]]
    if (old.size, new.size) != (answer["from"], answer["to"]) or not verify_consistency(
        old_size=old.size, new_size=new.size, old_root=old.root, new_root=new.root, proof=hashes
    ):
        raise click.ClickException(f"the server's consistency proof from {old_size} does not verify")
    message = f"the log of size {new.size} extends the log of size {old.size}: {len(hashes)} hashes verified"
    click.echo(json.dumps({**answer, "verified": True}, indent=2) if as_json else message)


def add_log_commands(group: click.Group) -> None:
    group.add_command(checkpoint)
    group.add_command(proof)
    group.add_command(audit_command)
