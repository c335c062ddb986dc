"""Evidence a team keeps: every receipt and signed result the platform hands the CLI is written
under $XDG_STATE_HOME/arena/receipts/<challenge>/, so that `arena verify --receipts` can later
prove each is in the public log, or name the one that is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from arena.config import receipts_dir


def _write(path: Path, entry: dict) -> Path:
    """Write once: a kept receipt is never overwritten by a later answer."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry, indent=1) + "\n")
        temporary.replace(path)
    return path


def keep(state: dict) -> list[Path]:
    """Keep the receipt and signed results of a submission's state; the files written (or there)."""
    folder = receipts_dir() / str(state.get("challenge") or "unknown")
    kept = []
    if state.get("receipt"):
        kept.append(_write(folder / f"{state['id']}.receipt.json", state["receipt"]))
    for entry in state.get("signed_results") or []:
        kept.append(_write(folder / f"{state['id']}.result-{entry['body']['seq']}.json", entry))
    return kept


def describe(state: dict, kept: list[Path], *, receipt_too: bool = True) -> str:
    """Lines telling the team what it was given and where it is kept."""
    lines = []
    receipt = state.get("receipt")
    if receipt and receipt_too:
        body = receipt["body"]
        lines.append(
            f"receipt: log entry {body['seq']} at {body['at']}, leaf {receipt['leaf_hash']}, "
            f"signature {receipt['signature']}"
        )
    for entry in state.get("signed_results") or []:
        data = entry["body"]["data"]
        shown = data.get("score") if data.get("released", True) else "withheld by the Ladder"
        lines.append(f"signed result: log entry {entry['body']['seq']}, {data.get('split')} score {shown}")
    if kept:
        lines.append(f"kept in {kept[0].parent} (check with `arena verify EXPORT --receipts {kept[0].parent}`)")
    return "\n".join(lines)


def keep_and_tell(state: dict, *, quiet: bool, receipt_told: bool = False) -> dict:
    """Keep the evidence; unless quiet, print it on stderr (the receipt only if not yet told).
    Returns the state with the `kept` paths."""
    try:
        kept = keep(state)
    except OSError as error:
        click.echo(f"warning: could not keep the receipt under {receipts_dir()}: {error.strerror}", err=True)
        kept = []
    news = state.get("signed_results") or (state.get("receipt") and not receipt_told)
    if not quiet and news:
        click.echo(describe(state, kept, receipt_too=not receipt_told), err=True)
    return {**state, "kept": [str(p) for p in kept]}
