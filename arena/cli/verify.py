"""`arena verify-set`: check a revealed hidden set against its signed commitment, offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arena.signing import verify_statement
from hidden_sets import RevealedItem, check_revealed


def _items(document: dict) -> list[RevealedItem]:
    return [RevealedItem(index=int(i["index"]), salt=bytes.fromhex(i["salt"]), item=i["item"].encode(),
                         proof=[bytes.fromhex(p) for p in i.get("proof", [])])
            for i in document["items"]]


def verify_document(document: dict, *, public_key: str | None, root: str | None) -> list[str]:
    """Problems with a reveal document, one line each; empty when it checks out."""
    statement, problems = document["statement"], []
    key = public_key or document["public_key"]
    if public_key and public_key != document.get("public_key"):
        problems.append("the document names another public key than the one you trust")
    if not verify_statement(public_key=key, statement=statement, signature=document["signature"]):
        problems.append("the commitment's signature does not verify with the platform's public key")
    if root and root != statement["root"]:
        problems.append(f"the commitment's root {statement['root']} is not the root you expected")
    try:
        items = _items(document)
    except (KeyError, ValueError, TypeError):
        return [*problems, "the items are not in the reveal format (index, salt, item, proof)"]
    return problems + check_revealed(items, root=bytes.fromhex(statement["root"]),
                                     tree_size=int(statement["n_items"]))


@click.command("verify-set")
@click.argument("reveal_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The platform's Ed25519 public key (base64) you trust, "
              "e.g. from /api/signing-key; default: the one in the file.")
@click.option("--root", help="The commitment root you saw published (hex), to check it is the same.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_set(reveal_file: Path, public_key: str | None, root: str | None, as_json: bool) -> None:
    """Check REVEAL_FILE (a revealed hidden set, in full or in part) against its commitment.

    Offline: checks the platform's signature on the commitment, then that every revealed item,
    with its salt, hashes into the committed RFC 6962 root (with inclusion proofs for a partial
    reveal). Exits 0 when everything checks out, 1 naming each item that does not.
    """
    try:
        document = json.loads(reveal_file.read_text())
        problems = verify_document(document, public_key=public_key, root=root)
        statement = document["statement"]
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{reveal_file} is not an Arena reveal document") from None
    summary = {"ok": not problems, "challenge": statement["challenge"], "version": statement["version"],
               "root": statement["root"], "items_checked": len(document["items"]),
               "n_items": statement["n_items"], "problems": problems}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif problems:
        click.echo(f"FAILED: {statement['challenge']} v{statement['version']}, root {statement['root']}")
        for problem in problems:
            click.echo(f"  - {problem}")
    else:
        click.echo(f"OK: {len(document['items'])} of {statement['n_items']} items of "
                   f"{statement['challenge']} v{statement['version']} match root {statement['root']}, "
                   "signed by the platform")
    if problems:
        raise SystemExit(1)
