"""Commands that talk to an Arena server over HTTP (ARENA_URL, ARENA_TOKEN): the team CLI. It
imports the API client, the domain package and the lower layers only, never a service."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import click

from arena.cli.challenge_cmds import challenge
from arena.cli.common import client as _client
from arena.cli.common import emit as _emit
from arena.cli.common import friendly, json_option
from arena.cli.evidence import keep_and_tell
from arena.cli.log_cmds import add_log_commands
from arena.cli.uploads import export as _export
from arena.cli.uploads import upload
from arena.cli.verify import verify_log, verify_set
from arena.cli.witness import witness
from arena.client import ArenaClient, ClientError
from arena.domain.cards import check_method_card
from arena.errors import BadRequest

__all__ = ["_client", "_emit", "_export", "challenge", "friendly", "json_option", "register", "score_text"]


# -- teams ------------------------------------------------------------------------------------------
@click.group()
def team() -> None:
    """Teams (organisers create them)."""


@team.command("create")
@click.argument("name")
@click.option(
    "--factory",
    "factories",
    multiple=True,
    metavar="FACTORY",
    help="A factory the team belongs to, as NAME or NAME:SHARE; repeat for an alliance "
    "(shares for all or none; equal when none). Default: the team's name.",
)
@json_option
@friendly
def team_create(name: str, factories: tuple[str, ...], as_json: bool) -> None:
    """Create team NAME and print its token (shown once; only its hash is stored)."""
    made = _client().create_team(name, list(factories))
    _emit(made, as_json, lambda d: d["token"])


# -- submissions ------------------------------------------------------------------------------------
def score_text(run: dict) -> str:
    """A run's score with its secondary scores: `0.8100 (macro_f1 0.7900)`."""
    if run["score"] is None:
        return "held back" if run.get("released") is False else ""
    extra = [f"{name} {v['score']:.4f}" for name, v in (run.get("secondary") or {}).items() if v]
    return f"{run['score']:.4f}" + (f" ({', '.join(extra)})" if extra else "")


def _status_line(state: dict) -> str:
    """One line for where a submission stands, and one more for each read of its hidden-run log."""
    reads = "".join(
        f"\n  its log was read {r['at']} by {r['organisation']}: {r['reason']}" for r in state.get("log_reads") or []
    )
    return _state_words(state) + reads


def _state_words(state: dict) -> str:
    if state["status"] == "scored" and state["score"] is None:
        return (
            f"{state['id']}  scored  (not released: no better than your team's best beyond noise; "
            "see the Ladder on the challenge page)"
        )
    if state["status"] == "scored":
        return f"{state['id']}  scored  {score_text(state)}"
    if state["status"] == "failed":
        return f"{state['id']}  failed  {state['failure_reason']}: {state['failure_detail']}"
    return f"{state['id']}  {state['status']}"


def _submit_once(client: ArenaClient, challenge_slug: str, digest: str, kind: str) -> dict:
    """Submit by digest; retried on a dropped connection with the same Idempotency-Key, so the
    server makes one submission however many times the request reaches it."""
    key = uuid.uuid4().hex
    for attempt in range(4):
        try:
            return client.submit_digest(challenge_slug, digest, kind=kind, idempotency_key=key)
        except ClientError as exc:
            if exc.status is not None or attempt == 3:
                raise
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


@click.command()
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("image")
@click.option("--wait", is_flag=True, help="Follow the evaluation until it is scored or failed.")
@click.option(
    "--sample",
    is_flag=True,
    help="Run on the public sample set instead, to debug: you see the container's log "
    "and predictions (`arena logs`); it never counts for the leaderboard.",
)
@click.option(
    "--method-card",
    "card_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML or JSON file describing the entry (name, description, code_url, licence, "
    "open_source): public, on the board; some challenges pay only open-source entries.",
)
@json_option
@friendly
def submit(
    challenge_slug: str, image: str, wait: bool, sample: bool, as_json: bool, card_file: Path | None = None
) -> None:
    """Submit IMAGE (an image in the local Docker engine) to CHALLENGE; prints the submission id.

    The image is exported with `docker save` to a temporary file, then uploaded in parts: a
    dropped connection is resumed where the server is, and running the same command again
    resumes an unfinished upload of the same image. The server checks the declared SHA-256 and
    the tarball, and stores each image once.
    With --wait, exits 0 when the submission is scored and 1 when it failed.
    The signed receipt (and, with --wait, each signed result) is printed on stderr and kept
    under $XDG_STATE_HOME/arena/receipts/CHALLENGE/ for `arena verify --receipts`.
    """
    client = _client()
    card = _read_card(card_file) if card_file else None
    if card is not None and sample:
        raise click.ClickException("--method-card describes an entry on the hidden set, not a --sample run")
    _preflight(client, challenge_slug, "sample" if sample else "hidden")
    with tempfile.TemporaryDirectory(prefix="arena-submit-") as folder:
        tarball, sha256 = _export(image, Path(folder), quiet=as_json)
        digest = upload(client, tarball, sha256, quiet=as_json)
    state = _submit_once(client, challenge_slug, digest, "sample" if sample else "hidden")
    if card is not None:
        state = {
            **client.set_method_card(state["id"], card),
            **({"receipt": state["receipt"]} if "receipt" in state else {}),
        }
    state = keep_and_tell(state, quiet=as_json)
    if wait:
        show = None if as_json else (lambda s: click.echo(f"  {s['status']}", err=True))
        if show:
            click.echo(f"submitted {state['id']}; waiting for the evaluation", err=True)
        told = bool(state.get("receipt"))
        state = keep_and_tell(client.wait(state["id"], on_change=show), quiet=as_json, receipt_told=told)
    _emit(state, as_json, _status_line if wait else (lambda s: s["id"]))
    if wait and state["status"] == "failed":
        sys.exit(1)


def _preflight(client: ArenaClient, challenge_slug: str, kind: str) -> dict:
    """Ask the server whether this team may submit now, before exporting and uploading an image
    (which takes minutes for a large model); stop with the server's reason if not."""
    if not client.token:
        raise click.ClickException("submitting needs your team token in ARENA_TOKEN")
    answer = client.can_submit(challenge_slug, kind)
    if not answer["ok"]:
        retry = f" (try again in {answer['retry_after']} s)" if answer.get("retry_after") else ""
        raise click.ClickException(f"not submitted: {answer['reason']}{retry}")
    return answer


def _read_card(path: Path) -> dict:
    import yaml

    try:
        card = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise click.ClickException(f"{path} is not YAML or JSON text") from None
    if not isinstance(card, dict):
        raise click.ClickException(f"{path} must hold a mapping: name, description, code_url, licence, open_source")
    try:  # the server checks it too; checking first means a bad card never leaves a submission behind
        return check_method_card(card)
    except BadRequest as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None


@click.command()
@click.argument("submission_id")
@json_option
@friendly
def status(submission_id: str, as_json: bool) -> None:
    """Show where SUBMISSION_ID stands: queued, running, scored (with its score) or failed (why)."""
    _emit(keep_and_tell(_client().submission(submission_id), quiet=True), as_json, _status_line)


@click.command()
@click.argument("submission_id")
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the run's predictions.jsonl to this file (sample runs).",
)
@click.option(
    "--reason",
    metavar="TEXT",
    help="Organisers: why you read this hidden run's log (10-500 characters; recorded, and shown to the team).",
)
@click.option(
    "--scorer", "scorer", is_flag=True, help="Organisers: print what the challenge's scoring container printed instead."
)
@json_option
@friendly
def logs(submission_id: str, predictions: Path | None, reason: str | None, scorer: bool, as_json: bool) -> None:
    """Print what the container printed (the last 64 KiB) for a run on the sample set.

    Runs on hidden data never show their logs or predictions to teams: they could carry hidden
    inputs out. The challenge's organisers (and the platform administrator) read a hidden run's
    log only with --reason "...": each read is recorded in the audit trail with who read it and
    why, and the team sees it on its dashboard and in `arena status --json`. With --scorer,
    organisers read what the challenge's scoring container printed instead (never shown to a team).
    """
    client = _client()
    found = client.read_hidden_log(submission_id, reason) if reason is not None else client.log(submission_id)
    if scorer:
        if "scorer_log" not in found:
            raise click.ClickException("only the challenge's organisers may read what its scorer printed")
        _emit(found, as_json, lambda d: d["scorer_log"] if d["scorer_log"] is not None else "(no scorer log kept)")
        return
    if reason is not None:
        _emit(found, as_json, lambda d: d["log"] if d["log"] is not None else "(no log kept)")
        return
    if predictions:
        predictions.write_bytes(client.predictions(submission_id))
    _emit(found, as_json, _log_text)


def _log_text(found: dict) -> str:
    """The container's output; when it printed nothing, say so, and why a failed run failed."""
    text = found["log"]
    if text is None:
        text = "(no log kept yet)" if found["status"] in ("queued", "running") else "(no log was kept)"
    elif not text.strip():
        text = "(the container printed nothing)"
    if found["status"] == "failed" and found.get("failure_reason"):
        text = f"{text.rstrip()}\nfailed: {found['failure_reason']}: {found['failure_detail']}"
    return text


@click.command()
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def leaderboard(challenge_slug: str, as_json: bool) -> None:
    """Show CHALLENGE's public leaderboard: each team's best scored submission."""
    board = ArenaClient(token="").leaderboard(challenge_slug)

    def human(b: dict) -> str:
        head = f"{b['title']} — {b['metric']} ({'higher' if b['higher_is_better'] else 'lower'} is better)"
        rows = [row for e in b["entries"] for row in _board_rows(e)]
        return "\n".join([head, *rows] if rows else [head, "no scored submission yet"])

    _emit(board, as_json, human)


def _interval(found: dict) -> str:
    if found.get("ci_low") is None:
        return " " * 18
    return f"[{found['ci_low']:.4f}, {found['ci_high']:.4f}]"


def _board_rows(entry: dict) -> list[str]:
    """An entry: rank, score, 95% interval, rank band and team; then each slice's score."""
    rows = [
        f"{entry['rank']:>4}  {entry['score']:.4f} {_interval(entry)}  band {entry['rank_band']:<3} {entry['team']}"
    ]
    for name, found in sorted((entry.get("slices") or {}).items()):
        rows.append(f"{'':>6}{found['score']:.4f} {_interval(found)}  slice {name} ({found['n_items']} items)")
    return rows


@click.group("log")
def public_log() -> None:
    """The public log: signed, chained records of challenges, submissions and results."""


@public_log.command("export")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the export to.",
)
@friendly
def log_export(challenge_slug: str, output: Path) -> None:
    """Anyone: write the log and CHALLENGE's published leaderboard to a file for `arena verify`."""
    document = ArenaClient(token="").log_export(challenge_slug)
    output.write_text(json.dumps(document))
    click.echo(f"wrote {len(document['entries'])} log entries to {output}", err=True)


def register(group: click.Group) -> None:
    add_log_commands(public_log)
    for command in (challenge, team, submit, status, logs, leaderboard, verify_set, public_log, verify_log, witness):
        group.add_command(command)
