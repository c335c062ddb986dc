"""`arena witness`: a witness any factory, alliance or member of the public runs with its own key.

Each round it fetches the log's latest checkpoint, checks the log's signature, checks that the
checkpoint extends the last one it cosigned (an RFC 9162 consistency proof; the same size with
another root is a fork), remembers the new one in its state file, cosigns it
(c2sp.org/tlog-cosignature) and posts the cosignature to the platform, which publishes it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import click

from arena.cli.common import friendly
from arena.client import ArenaClient, ClientError
from arena.signing import Signer, load_or_create_signer
from arena.tlog import (
    COSIGNATURE_V1,
    EMPTY_ROOT,
    NoteError,
    cosign_line,
    note_key,
    open_checkpoint,
    parse_vkey,
    split_note,
)
from hidden_sets import verify_consistency


class Refused(Exception):
    """The log showed something a witness must not cosign; the message says what."""


@dataclass(frozen=True)
class State:
    log_key: str
    size: int
    root: bytes

    @classmethod
    def load(cls, path: Path, log_key: str | None) -> State:
        if not path.exists():
            if not log_key:
                raise click.UsageError("the first run needs --log-key: the log's verifier key you trust")
            return cls(log_key=log_key, size=0, root=EMPTY_ROOT)
        try:
            saved = json.loads(path.read_text())
            state = cls(log_key=saved["log_key"], size=int(saved["size"]), root=base64.b64decode(saved["root"]))
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(f"{path} is not a witness state file") from None
        if log_key and log_key != state.log_key:
            raise click.ClickException(f"{path} witnesses another log key ({state.log_key}); use another state file")
        return state

    def save(self, path: Path) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(
            json.dumps({"log_key": self.log_key, "size": self.size, "root": base64.b64encode(self.root).decode()})
            + "\n"
        )
        os.chmod(temporary, 0o600)
        temporary.replace(path)


def _extends(client: ArenaClient, state: State, size: int, root: bytes) -> None:
    if size < state.size:
        raise Refused(f"the log shows size {size}, smaller than the size {state.size} this witness cosigned")
    if size == state.size:
        if root != state.root:
            raise Refused(f"the log shows another root for size {size} than the one this witness cosigned: a fork")
        return
    proof = client._request("GET", f"/api/log/proof/consistency?from={state.size}&to={size}")
    hashes = [bytes.fromhex(h) for h in proof.get("proof", [])]
    if not verify_consistency(old_size=state.size, new_size=size, old_root=state.root, new_root=root, proof=hashes):
        raise Refused(f"the log of size {size} does not extend the one of size {state.size} this witness cosigned")


def witness_once(
    client: ArenaClient, *, signer: Signer, name: str, state_path: Path, log_key: str | None = None
) -> dict:
    """One round: check the latest checkpoint, remember it, cosign it, post the cosignature."""
    state = State.load(state_path, log_key)
    trusted = parse_vkey(state.log_key)
    note = client.text("/log/checkpoint")
    try:
        point, _ = open_checkpoint(note, trusted)
        text, signatures = split_note(note)
    except NoteError as error:
        raise Refused(f"the checkpoint: {error}") from None
    _extends(client, state, point.size, point.root)
    State(log_key=state.log_key, size=point.size, root=point.root).save(state_path)
    line = cosign_line(text, name, signer.key, int(time.time()))
    log_lines = "".join(s.line for s in signatures if s.name == trusted.name)
    answer = client.post_note("/api/log/cosignatures", text + "\n" + log_lines + line)
    return {"size": point.size, "root": base64.b64encode(point.root).decode(), "accepted": answer}


@click.command("witness")
@click.option("--url", help="The platform (default: ARENA_URL).")
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="This witness's Ed25519 private key (PEM); created, readable by you only, if absent.",
)
@click.option("--name", required=True, help="This witness's key name, e.g. witness.lumi-ai-factory.eu/arena.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where the last checkpoint cosigned is kept, across restarts.",
)
@click.option("--log-key", help="The log's verifier key (name+id+base64) you trust; needed on the first run.")
@click.option(
    "--interval", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds between rounds."
)
@click.option("--once", is_flag=True, help="Run one round and exit: 0 when cosigned, 1 when refused.")
@click.option(
    "--show-key",
    is_flag=True,
    help="Print this witness's verifier key (give it to the operator and to those who verify) and exit.",
)
@friendly
def witness(
    url: str | None,
    key_file: Path,
    name: str,
    state_file: Path,
    log_key: str | None,
    interval: float,
    once: bool,
    show_key: bool,
) -> None:
    """Witness a platform's public log: cosign each checkpoint that extends the last one cosigned.

    The operator lists this witness's key (--show-key) in ARENA_WITNESS_KEYS; verifiers pass it
    to `arena verify --witness`. A refusal (a rewritten log, a fork shown to this witness, a bad
    signature) is printed as REFUSED and nothing is cosigned; the state file is kept as it was.
    """
    signer = load_or_create_signer(key_file)
    if show_key:
        click.echo(note_key(name, signer.key, COSIGNATURE_V1).vkey)
        return
    client = ArenaClient(url=url, token="")
    while True:
        try:
            done = witness_once(client, signer=signer, name=name, state_path=state_file, log_key=log_key)
            click.echo(f"cosigned {done['size']} {done['root']}", err=False)
        except Refused as refusal:
            click.echo(f"REFUSED: {refusal}")
            if once:
                raise SystemExit(1) from None
        except ClientError as error:
            if once:
                raise
            click.echo(f"warning: {error}", err=True)
        if once:
            return
        time.sleep(interval)
