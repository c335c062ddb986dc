"""The public log at 1,000,000 entries: a checkpoint and an inclusion proof (O(log n) stored nodes)
against recomputing the root from all leaves (what every head request did before), measured in
the same run, interleaved; rebuilding and checking the whole log from its tiles (`arena log
audit`); and proof sizes against log2 of the log's size.

    .venv/bin/python bench/run.py log [--json]      (ARENA_BENCH_LOG_ENTRIES=N for a smaller log)
"""

from __future__ import annotations

import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from arena import create_app
from arena.cli.audit import audit
from arena.db import upgrade
from arena.models import LogEntry, LogNode
from arena.services import logtree
from arena.signing import canonical_bytes, loads
from arena.tlog import MemoryTree, consistency_proof, inclusion_proof, parse_vkey
from hidden_sets import TreeBuilder, leaf_hash

ENTRIES = int(os.environ.get("ARENA_BENCH_LOG_ENTRIES", "1000000"))
TEMPLATE = (
    '{"at":"2026-12-02T08:00:00Z","challenge":"bench","data":{"ci_high":0.84,"ci_low":0.78,'
    '"hidden_set":"hs","hidden_set_root":"%s","item_scores_sha256":null,"metric":"accuracy",'
    '"n_items":90,"released":true,"score":0.8123,"secondary":null,"split":"public",'
    '"submission":"sub-%016x","team":"Team %03d"},"kind":"result","prev":"%s","seq":%d,"v":2}'
)
ROOT = "ab" * 32


def _opening(prev: str) -> bytes:
    return canonical_bytes(
        {
            "v": 2,
            "seq": 0,
            "kind": "challenge.open",
            "challenge": "bench",
            "at": "2026-12-02T08:00:00Z",
            "prev": prev,
            "data": {"root": ROOT},
        }
    )


def _bodies(n: int):
    """(seq, canonical bytes) of a genuine chain; the bytes come from a template that is checked
    against the rfc8785 package on the first entries (rfc8785 takes ~0.1 ms an entry)."""
    previous = "0" * 64
    for seq in range(n):
        raw = _opening(previous) if seq == 0 else (TEMPLATE % (ROOT, seq, seq % 200, previous, seq)).encode()
        if seq < 50:
            assert canonical_bytes(loads(raw)) == raw
        yield seq, raw
        previous = leaf_hash(raw).hex()


def seed(platform, n: int) -> list[bytes]:
    """Write n signed entries and their tree nodes in bulk; returns the leaf hashes."""
    tree, leaves, batch = MemoryTree(), [], []
    with platform.transaction() as session:
        for seq, raw in _bodies(n):
            leaf = leaf_hash(raw)
            leaves.append(leaf)
            tree.append(leaf)
            batch.append(
                {
                    "seq": seq,
                    "kind": "result" if seq else "challenge.open",
                    "challenge": "bench",
                    "body": raw.decode(),
                    "leaf_hash": leaf.hex(),
                    "signature": platform.signer.sign(loads(raw)) if seq % 1000 == 0 else "-" * 88,
                }
            )
            if len(batch) == 20000:
                session.execute(insert(LogEntry), batch)
                batch = []
        if batch:
            session.execute(insert(LogEntry), batch)
        nodes = [{"level": lv, "index": i, "hash": h} for (lv, i), h in tree.nodes.items()]
        for start in range(0, len(nodes), 50000):
            session.execute(insert(LogNode), nodes[start : start + 50000])
    return leaves


def _recompute_root(platform) -> bytes:
    """The baseline: every leaf hash read and hashed into the root, per request."""
    with platform.sessions() as session:
        builder = TreeBuilder()
        for digest in session.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.seq)):
            builder.add(bytes.fromhex(digest))
    return builder.root()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, math.ceil(0.99 * len(values)) - 1)]


def _proof_sizes(leaves: list[bytes]) -> list[dict]:
    sizes, tree = [], MemoryTree()
    marks = [m for m in (10**3, 10**4, 10**5, 10**6) if m <= len(leaves)]
    for leaf in leaves[: marks[-1]] if marks else []:
        tree.append(leaf)
        if tree.size in marks:
            n = tree.size
            sizes.append(
                {
                    "size": n,
                    "log2": math.ceil(math.log2(n)),
                    "inclusion_hashes": len(inclusion_proof(tree.hash_at, n // 2, n)),
                    "consistency_hashes": len(consistency_proof(tree.hash_at, n // 2 + 1, n)),
                }
            )
    return sizes


def bench_log(rounds: int = 5, calls: int = 60) -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-log-bench-") as folder:
        home = Path(folder)
        app = create_app(
            {
                "TESTING": True,
                "home": home,
                "database_url": f"sqlite:///{home}/arena.db",
                "master_key_file": home / "master.key",
                "runner": "fake",
            }
        )
        platform = app.extensions["arena"]
        upgrade(platform.engine)
        seed_s = _timed(lambda: leaves.extend(seed(platform, ENTRIES))) if (leaves := []) == [] else 0
        client, rng = app.test_client(), random.Random(7)
        checkpoint_s, inclusion_s, baseline_s = [], [], []
        for _ in range(rounds):  # interleaved: baseline, then a block of each
            baseline_s.append(_timed(lambda: _recompute_root(platform)))
            checkpoint_s += [_timed(lambda: client.get("/log/checkpoint")) for _ in range(calls)]
            inclusion_s += [
                _timed(lambda: client.get(f"/api/log/proof/inclusion?seq={rng.randrange(ENTRIES)}"))
                for _ in range(calls)
            ]
        assert _recompute_root(platform) == logtree.root_at(platform)[1]
        key = parse_vkey(client.get("/.well-known/arena-keys.json").json["log"]["vkey"])
        audit_s = (
            _timed(lambda: found.append(audit(lambda p: client.get(f"/log/{p}").data, key)))
            if (found := []) == []
            else 0
        )
        assert found[0] == (ENTRIES, []), found[0][1][:3]
        platform.engine.dispose()
    baseline = statistics.median(baseline_s)
    return {
        "name": "log",
        "entries": ENTRIES,
        "seed_s": seed_s,
        "checkpoint_p99_ms": _p99(checkpoint_s) * 1e3,
        "inclusion_p99_ms": _p99(inclusion_s) * 1e3,
        "checkpoint_median_ms": statistics.median(checkpoint_s) * 1e3,
        "inclusion_median_ms": statistics.median(inclusion_s) * 1e3,
        "recompute_median_ms": baseline * 1e3,
        "recompute_p99_ms": _p99(baseline_s) * 1e3,
        "ratio_recompute_over_checkpoint": baseline / _p99(checkpoint_s),
        "ratio_recompute_over_inclusion": baseline / _p99(inclusion_s),
        "audit_tiles_s": audit_s,
        "audit_over_recompute": audit_s / baseline,
        "proof_sizes": _proof_sizes(leaves),
        "goals": "checkpoint and inclusion p99 < 5 ms; audit < 30 s",
    }


def print_log(result: dict) -> None:
    print(f"public log of {result['entries']:,} entries (seeded in {result['seed_s']:.0f} s)")
    print(
        f"  checkpoint p99                 {result['checkpoint_p99_ms']:.2f} ms "
        f"(median {result['checkpoint_median_ms']:.2f} ms)"
    )
    print(
        f"  inclusion proof p99            {result['inclusion_p99_ms']:.2f} ms "
        f"(median {result['inclusion_median_ms']:.2f} ms)"
    )
    print(
        f"  baseline: root from all leaves {result['recompute_median_ms']:.0f} ms median, "
        f"{result['recompute_p99_ms']:.0f} ms p99"
    )
    print(f"  ratio baseline / checkpoint    {result['ratio_recompute_over_checkpoint']:.0f}x")
    print(f"  ratio baseline / inclusion     {result['ratio_recompute_over_inclusion']:.0f}x")
    print(
        f"  whole log audited from tiles   {result['audit_tiles_s']:.1f} s "
        f"({result['audit_over_recompute']:.1f}x the baseline's one root)"
    )
    for row in result["proof_sizes"]:
        print(
            f"  size {row['size']:>9,}: inclusion {row['inclusion_hashes']} hashes, consistency "
            f"{row['consistency_hashes']} hashes (log2 n = {row['log2']}; 32 bytes each)"
        )
    print(f"  goals: {result['goals']}")
