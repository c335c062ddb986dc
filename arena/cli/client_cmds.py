"""Commands that talk to an Arena server over HTTP (ARENA_URL, ARENA_TOKEN)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from arena.client import ArenaClient, ClientError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _client() -> ArenaClient:
    return ArenaClient()


def friendly(fn: Callable) -> Callable:
    """Turn client errors into one clear line and exit code 1, never a traceback."""

    @wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapped


def _emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else human(data))


# -- challenges -------------------------------------------------------------------------------------
@click.group()
def challenge() -> None:
    """Challenges: create (organisers) and list (anyone)."""


@challenge.command("create")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
@friendly
def challenge_create(bundle_dir: Path, as_json: bool) -> None:
    """Create a challenge from BUNDLE_DIR (challenge.yaml, inputs.jsonl, labels.jsonl, sample/).

    The server validates the whole bundle and encrypts the hidden set at once; on any problem
    nothing is created and the error names the file and line. Prints the challenge's slug.
    """
    made = _client().create_challenge(bundle_dir)
    _emit(made, as_json, lambda d: d["slug"])


@challenge.command("list")
@json_option
@friendly
def challenge_list(as_json: bool) -> None:
    """List the challenges on the server."""
    found = _client().challenges()
    _emit(found, as_json, lambda rows: "\n".join(
        f"{c['slug']:<30} {c['metric']:<12} {c['teams']} team(s)  {c['title']}" for c in rows
    ) or "no challenges yet")


@challenge.command("add-version")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
@friendly
def challenge_add_version(challenge_slug: str, folder: Path, as_json: bool) -> None:
    """Add a new hidden-set version from FOLDER (inputs.jsonl, labels.jsonl), between rounds.

    The new version gets its own data key and commitment root; submissions made from now on are
    scored on it, and earlier results keep pointing to the version they were scored on.
    """
    made = _client().add_version(challenge_slug, folder)
    _emit(made, as_json, lambda d: f"version {d['version']} of {d['slug']}: {d['n_items']} items, root {d['root']}")


@challenge.command("reveal")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option("--all", "reveal_all", is_flag=True, help="Reveal every item.")
@click.option("--id", "ids", multiple=True, metavar="ID", help="Reveal this item; repeat for more.")
@click.option("--version", type=int, help="Hidden-set version (default: the newest).")
@json_option
@friendly
def challenge_reveal(challenge_slug: str, reveal_all: bool, ids: tuple[str, ...], version: int | None,
                     as_json: bool) -> None:
    """Organiser: publish hidden items with their salts, so anyone can check the commitment.

    Do this only after the challenge has ended: revealed items are public for good.
    """
    if reveal_all == bool(ids):
        raise click.UsageError("give either --all or one or more --id")
    made = _client().reveal(challenge_slug, None if reveal_all else list(ids), version)
    _emit(made, as_json, lambda d: f"revealed {d['items']} item(s) of version {d['version']}")


@challenge.command("get-reveal")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option("--version", type=int, help="Hidden-set version (default: the newest revealed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write the reveal document to.")
@friendly
def challenge_get_reveal(challenge_slug: str, version: int | None, output: Path) -> None:
    """Anyone: download a published reveal, to check with `arena verify-set FILE`."""
    document = ArenaClient(token="").revealed(challenge_slug, version)
    output.write_text(json.dumps(document))
    click.echo(f"wrote {len(document['items'])} item(s) to {output}", err=True)


# -- teams ------------------------------------------------------------------------------------------
@click.group()
def team() -> None:
    """Teams (organisers create them)."""


@team.command("create")
@click.argument("name")
@click.option("--factory", "factories", multiple=True, metavar="FACTORY",
              help="A factory the team belongs to; repeat for an alliance. Default: the team's name.")
@json_option
@friendly
def team_create(name: str, factories: tuple[str, ...], as_json: bool) -> None:
    """Create team NAME and print its token (shown once; only its hash is stored)."""
    made = _client().create_team(name, list(factories))
    _emit(made, as_json, lambda d: d["token"])


# -- submissions ------------------------------------------------------------------------------------
def _status_line(state: dict) -> str:
    if state["status"] == "scored":
        return f"{state['id']}  scored  {state['score']:.4f}"
    if state["status"] == "failed":
        return f"{state['id']}  failed  {state['failure_reason']}: {state['failure_detail']}"
    return f"{state['id']}  {state['status']}"


def _upload(client: ArenaClient, challenge_slug: str, image: str, quiet: bool, kind: str) -> dict:
    """Stream `docker save IMAGE` straight into the upload, with a progress bar on a terminal."""
    from sandbox import ImageError, SandboxError, stream_image

    try:
        _image_id, estimate, chunks = stream_image(image)
        if quiet or not sys.stderr.isatty():
            return client.submit_image(challenge_slug, chunks, kind=kind)
        with click.progressbar(length=max(estimate, 1), label=f"uploading {image}", file=sys.stderr,
                               show_eta=True, show_percent=True) as bar:
            report = lambda n: bar.update(min(n, max(bar.length - bar.pos, 0)))  # noqa: E731
            return client.submit_image(challenge_slug, chunks, progress=report, kind=kind)
    except (ImageError, SandboxError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("image")
@click.option("--wait", is_flag=True, help="Follow the evaluation until it is scored or failed.")
@click.option("--sample", is_flag=True,
              help="Run on the public sample set instead, to debug: you see the container's log "
                   "and predictions (`arena logs`); it never counts for the leaderboard.")
@json_option
@friendly
def submit(challenge_slug: str, image: str, wait: bool, sample: bool, as_json: bool) -> None:
    """Submit IMAGE (an image in the local Docker engine) to CHALLENGE; prints the submission id.

    The image's `docker save` is streamed to the server as it is written (no local copy); the
    server hashes it as it arrives, checks it, and stores it once by its SHA-256 digest.
    With --wait, exits 0 when the submission is scored and 1 when it failed.
    """
    client = _client()
    if client.me()["role"] != "team":  # fail fast, before streaming a large image
        raise click.ClickException("submitting needs a team token in ARENA_TOKEN")
    client.challenge(challenge_slug)
    state = _upload(client, challenge_slug, image, quiet=as_json, kind="sample" if sample else "hidden")
    if wait:
        show = None if as_json else (lambda s: click.echo(f"  {s['status']}", err=True))
        if show:
            click.echo(f"submitted {state['id']}; waiting for the evaluation", err=True)
        state = client.wait(state["id"], on_change=show)
    _emit(state, as_json, _status_line if wait else (lambda s: s["id"]))
    if wait and state["status"] == "failed":
        sys.exit(1)


@click.command()
@click.argument("submission_id")
@json_option
@friendly
def status(submission_id: str, as_json: bool) -> None:
    """Show where SUBMISSION_ID stands: queued, running, scored (with its score) or failed (why)."""
    _emit(_client().submission(submission_id), as_json, _status_line)


@click.command()
@click.argument("submission_id")
@click.option("--predictions", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the run's predictions.jsonl to this file (sample runs).")
@json_option
@friendly
def logs(submission_id: str, predictions: Path | None, as_json: bool) -> None:
    """Print what the container printed (the last 64 KiB) for a run on the sample set.

    Runs on hidden data never show their logs or predictions to teams: they could carry hidden
    inputs out. Organisers can read the (encrypted) logs of every run.
    """
    client = _client()
    found = client.log(submission_id)
    if predictions:
        predictions.write_bytes(client.predictions(submission_id))
    _emit(found, as_json, lambda d: d["log"] if d["log"] is not None else "(no log kept yet)")


@click.command()
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def leaderboard(challenge_slug: str, as_json: bool) -> None:
    """Show CHALLENGE's public leaderboard: each team's best scored submission."""
    board = ArenaClient(token="").leaderboard(challenge_slug)

    def human(b: dict) -> str:
        head = f"{b['title']} — {b['metric']} ({'higher' if b['higher_is_better'] else 'lower'} is better)"
        rows = [f"{e['rank']:>4}  {e['score']:.4f}  {e['team']}" for e in b["entries"]]
        return "\n".join([head, *rows] if rows else [head, "no scored submission yet"])

    _emit(board, as_json, human)


def register(group: click.Group) -> None:
    from arena.cli.verify import verify_set

    for command in (challenge, team, submit, status, logs, leaderboard, verify_set):
        group.add_command(command)
