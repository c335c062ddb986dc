"""The log export: everything `arena verify` needs to check one challenge's board offline.

It gathers the log (`publiclog`), its tree (`logtree`), the signed commitments (`commitments`) and
the board (`leaderboard`), so it sits above all four and none of them imports it.
"""

from __future__ import annotations

from arena.runtime import Platform
from arena.services import logtree, publiclog
from arena.services.commitments import signed_commitments
from arena.services.leaderboard import leaderboard


def document(platform: Platform, *, challenge: str) -> dict:
    """Everything `arena verify` needs, offline: the whole chain (other challenges' entries too, so
    the chain and tree can be checked), the signed checkpoint of exactly those entries with the
    latest cosigned checkpoints, the keys, the challenge's signed commitments, and the board."""
    everything = publiclog.entries(platform, limit=10**9)
    board = leaderboard(
        platform, slug=challenge, log_entries=[e for e in everything if e["body"]["challenge"] == challenge]
    )
    return {
        "format": "arena.log-export/v2",
        "challenge": challenge,
        "public_key": platform.signer.public_key,
        "log_key": logtree.log_vkey(platform),
        "entries": everything,
        "tree_head": logtree.tree_head(platform, len(everything)),
        "checkpoint": logtree.checkpoint(platform, size=len(everything)),
        "cosigned": logtree.cosigned_checkpoints(platform, up_to=len(everything)),
        "commitments": signed_commitments(platform, slug=challenge),
        "leaderboard": board,
    }
