"""`arena log audit`: rebuild the whole log from its static tiles (c2sp.org/tlog-tiles) and check
it against the signed checkpoint: every entry bundle hashes to the tree, entries are well formed,
chained and in time order, results name logged roots, and the tree's root is the signed one.
`fetch(path)` gives the bytes under the log's prefix, so a mirror of the files checks the same."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from arena.cli import logcheck
from arena.cli.common import friendly, trusted_log_key
from arena.cli.verify import report
from arena.client import ArenaClient
from arena.tlog import TILE_WIDTH, NoteError, NoteKey, open_checkpoint, tile_path, unbundle
from hidden_sets import TreeBuilder, leaf_hash

Fetch = Callable[[str], bytes]


def _bundles(fetch: Fetch, size: int):
    """Each entry bundle's entries (bytes), in order, as a tree of `size` has them."""
    for index in range(0, (size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        entries = unbundle(fetch(tile_path("entries", index, width)))
        if len(entries) != width:
            raise ValueError(f"entry bundle {index} holds {len(entries)} entries, not {width}")
        yield entries


def _parsed(entries: list[bytes]) -> list:
    """The entries' JSON, parsed in one go (a bundle at a time is several times faster than one
    entry at a time); an entry that is not JSON becomes None."""
    try:
        return json.loads("[" + ",".join(e.decode() for e in entries) + "]")
    except (ValueError, UnicodeDecodeError):
        return [_one(e) for e in entries]


def _one(entry: bytes):
    try:
        return json.loads(entry)
    except (ValueError, UnicodeDecodeError):
        return None


class _Walk:
    """The checks that follow the chain from entry to entry."""

    def __init__(self) -> None:
        self.tree, self.previous, self.last_at = TreeBuilder(), "0" * 64, ""
        self.problems: list[str] = []
        self.roots: dict[str, set] = {}  # commitment roots logged, by challenge

    def step(self, raw: bytes, body) -> None:
        leaf, index = leaf_hash(raw), self.tree.size
        shape = logcheck._shape_problem({"body": body, "leaf_hash": "", "signature": ""}, index)
        if shape is None:
            name = f"entry {index} ({body['kind']})"
            if body["seq"] != index or body["prev"] != self.previous:
                self.problems.append(f"{name}: out of place: its seq or prev does not follow the entry before it")
            if body["at"] < self.last_at:
                self.problems.append(f"{name}: written at {body['at']}, before the entry before it ({self.last_at})")
            self.problems += logcheck._root_problems(body, name, self.roots)
            self.last_at = max(self.last_at, body["at"])
        else:
            self.problems.append(shape)
        self.tree.add(leaf)
        self.previous = leaf.hex()


def audit(fetch: Fetch, log_key: NoteKey) -> tuple[int, list[str]]:
    """The checkpoint's size and the problems found (empty when the log checks out)."""
    try:
        point, _ = open_checkpoint(fetch("checkpoint").decode(), log_key)
    except (NoteError, UnicodeDecodeError) as error:
        return 0, [f"the checkpoint: {error}"]
    walk = _Walk()
    for entries in _bundles(fetch, point.size):
        for raw, body in zip(entries, _parsed(entries), strict=False):
            walk.step(raw, body)
    if walk.tree.root() != point.root:
        walk.problems.append(f"the entries served do not hash to the checkpoint's root (size {point.size})")
    return point.size, walk.problems


@click.command("audit")
@click.option("--url", help="The platform (default: ARENA_URL); its tiles are under URL/log/.")
@click.option(
    "--log-key",
    help="The log's verifier key (name+id+base64) you trust; default: the one "
    "the server publishes at /.well-known/arena-keys.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def audit_command(url: str | None, log_key: str | None, as_json: bool) -> None:
    """Anyone: rebuild the whole log from its tiles and check it against the signed checkpoint.

    Fetches the checkpoint and every entry bundle (c2sp.org/tlog-tiles), checks each entry's
    form, place in the chain, time order and logged roots, and that all of them hash to the
    checkpoint's root. Exits 0 when the log checks out, 1 naming each problem.
    """

    @friendly
    def run() -> None:
        client = ArenaClient(url=url, token="")
        key = trusted_log_key(client, log_key)
        size, problems = audit(lambda path: client.raw(f"/log/{path}"), key)
        report(
            {"ok": not problems, "size": size, "problems": problems},
            as_json=as_json,
            failed=f"the log at {client.url}",
            ok=f"{size} entries rebuilt from the tiles hash to the signed checkpoint; chain, times and roots hold",
        )

    run()
