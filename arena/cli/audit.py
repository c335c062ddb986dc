"""`arena log audit`: rebuild the whole log from its static tiles (c2sp.org/tlog-tiles) and check
it against the signed checkpoint: every entry bundle hashes to the tree, entries are well formed,
chained and in time order, results name logged roots, and the tree's root is the signed one.
`fetch(path)` gives the bytes under the log's prefix, so a mirror of the files checks the same."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from arena.cli import logcheck
from arena.tlog import TILE_WIDTH, MemoryTree, NoteError, NoteKey, open_checkpoint, tile_path, unbundle
from hidden_sets._merkle import leaf_hash

Fetch = Callable[[str], bytes]


def _bodies(fetch: Fetch, size: int):
    """Each entry's bytes, in order, from the entry bundles a tree of `size` has."""
    for index in range(0, (size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        entries = unbundle(fetch(tile_path("entries", index, width)))
        if len(entries) != width:
            raise ValueError(f"entry bundle {index} holds {len(entries)} entries, not {width}")
        yield from entries


def audit(fetch: Fetch, log_key: NoteKey) -> tuple[int, list[str]]:
    """The checkpoint's size and the problems found (empty when the log checks out)."""
    try:
        point, _ = open_checkpoint(fetch("checkpoint").decode(), log_key)
    except (NoteError, UnicodeDecodeError) as error:
        return 0, [f"the checkpoint: {error}"]
    tree, problems, previous, last_at, roots = MemoryTree(), [], "0" * 64, "", {}
    for raw in _bodies(fetch, point.size):
        leaf = leaf_hash(raw)
        entry = {"body": json.loads(raw), "leaf_hash": leaf.hex(), "signature": ""}
        index = tree.size
        shape = logcheck._shape_problem(entry, index)
        body = entry["body"]
        if shape is None:
            name = f"entry {index} ({body['kind']})"
            if body["seq"] != index or body["prev"] != previous:
                problems.append(f"{name}: out of place: its seq or prev does not follow the entry before it")
            if body["at"] < last_at:
                problems.append(f"{name}: written at {body['at']}, before the entry before it ({last_at})")
            problems += logcheck._root_problems(body, name, roots)
            last_at = max(last_at, body["at"])
        else:
            problems.append(shape)
        tree.append(leaf)
        previous = leaf.hex()
    if tree.root() != point.root:
        problems.append(f"the entries served do not hash to the checkpoint's root (size {point.size})")
    return point.size, problems


@click.command("audit")
@click.option("--url", help="The platform (default: ARENA_URL); its tiles are under URL/log/.")
@click.option("--log-key", help="The log's verifier key (name+id+base64) you trust; default: the one "
              "the server publishes at /.well-known/arena-keys.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def audit_command(url: str | None, log_key: str | None, as_json: bool) -> None:
    """Anyone: rebuild the whole log from its tiles and check it against the signed checkpoint.

    Fetches the checkpoint and every entry bundle (c2sp.org/tlog-tiles), checks each entry's
    form, place in the chain, time order and logged roots, and that all of them hash to the
    checkpoint's root. Exits 0 when the log checks out, 1 naming each problem.
    """
    from arena.cli.client_cmds import friendly
    from arena.cli.log_cmds import _trusted
    from arena.cli.verify import report
    from arena.client import ArenaClient

    @friendly
    def run() -> None:
        client = ArenaClient(url=url, token="")
        key = _trusted(client, log_key)
        size, problems = audit(lambda path: client.raw(f"/log/{path}"), key)
        report({"ok": not problems, "size": size, "problems": problems}, as_json=as_json,
               failed=f"the log at {client.url}",
               ok=f"{size} entries rebuilt from the tiles hash to the signed checkpoint; chain, times and roots hold")

    run()
