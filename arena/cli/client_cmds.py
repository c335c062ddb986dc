"""Commands that talk to an Arena server over HTTP (ARENA_URL, ARENA_TOKEN)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from arena.cli.evidence import keep_and_tell
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
    """Challenges: create, new versions and reveals (organisers); list, samples and reveals (anyone)."""


@challenge.command("create")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
@friendly
def challenge_create(bundle_dir: Path, as_json: bool) -> None:
    """Create a challenge from BUNDLE_DIR (challenge.yaml, inputs.jsonl, labels.jsonl, and if
    present assets/ and sample/ with its own assets/).

    The bundle is streamed up in one request, each assets/ folder as one tar, with a progress bar
    on a terminal. The server validates the whole bundle and encrypts the hidden set at once; on
    any problem nothing is created and the error names the file and line. Prints the slug.

    When challenge.yaml declares a scoring container (`scorer: {image: NAME, …}`, see
    docs/scorer-protocol.md), the image NAME is first exported from the local Docker engine
    (`docker save`) and uploaded in resumable parts, like a team's image; the challenge is then
    pinned to its digest. A `sha256:…` digest as the image names one uploaded before.
    """
    client = _client()
    scorer = _declared_scorer_image(bundle_dir)
    digest = _upload_scorer(client, scorer, quiet=as_json) if scorer else None
    with _upload_progress(as_json) as progress:
        made = client.create_challenge(bundle_dir, progress=progress, scorer_digest=digest)
    _emit(made, as_json, lambda d: d["slug"])


def _declared_scorer_image(bundle_dir: Path) -> str | None:
    """scorer.image of the bundle's challenge.yaml, if any (the server checks the rest)."""
    import yaml

    try:
        doc = yaml.safe_load((bundle_dir / "challenge.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None  # the server names the problem
    scorer = doc.get("scorer") if isinstance(doc, dict) else None
    image = scorer.get("image") if isinstance(scorer, dict) else None
    return image if isinstance(image, str) and image else None


def _upload_scorer(client: ArenaClient, image: str, *, quiet: bool) -> str:
    """The digest of the scorer image: exported and uploaded, or as given."""
    if image.startswith("sha256:"):
        return image
    with tempfile.TemporaryDirectory(prefix="arena-scorer-") as folder:
        tarball, sha256 = _export(image, Path(folder), quiet=quiet)
        return _upload(client, tarball, sha256, quiet=quiet)


@challenge.command("set-scorer")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("image")
@json_option
@friendly
def challenge_set_scorer(challenge_slug: str, image: str, as_json: bool) -> None:
    """Pin a new scoring container IMAGE for CHALLENGE (one declared with `scorer:`).

    IMAGE is a local Docker image (exported with `docker save` and uploaded in resumable parts;
    run the command again to resume) or the `sha256:…` digest of one uploaded before. The change
    is written to the public log, so `arena verify` knows which scorer produced each result.
    """
    client = _client()
    digest = _upload_scorer(client, image, quiet=as_json)
    made = client.set_scorer(challenge_slug, digest)
    _emit(made, as_json, lambda d: f"{d['slug']}: scorer {d['scorer_image']}")


@contextmanager
def _upload_progress(quiet: bool):
    """A progress bar for a bundle upload on a terminal (a callback told (bytes just sent, total)),
    else None."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bar = None

    def update(sent: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="uploading", file=sys.stderr, show_eta=True, show_percent=True)
            bar.__enter__()
        bar.update(sent)  # click's bar counts up by what it is given

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@challenge.command("list")
@json_option
@friendly
def challenge_list(as_json: bool) -> None:
    """List the challenges on the server."""
    found = _client().challenges()
    _emit(
        found,
        as_json,
        lambda rows: (
            "\n".join(f"{c['slug']:<30} {c['metric']:<12} {c['teams']} team(s)  {c['title']}" for c in rows)
            or "no challenges yet"
        ),
    )


@challenge.command("add-version")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
@friendly
def challenge_add_version(challenge_slug: str, folder: Path, as_json: bool) -> None:
    """Add a new hidden-set version from FOLDER (inputs.jsonl, labels.jsonl, and assets/ if its
    items reference binary assets), between rounds.

    The new version gets its own data key and commitment root; submissions made from now on are
    scored on it, and earlier results keep pointing to the version they were scored on.
    """
    with _upload_progress(as_json) as progress:
        made = _client().add_version(challenge_slug, folder, progress=progress)
    _emit(made, as_json, lambda d: f"version {d['version']} of {d['slug']}: {d['n_items']} items, root {d['root']}")


@challenge.command("reveal")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option("--all", "reveal_all", is_flag=True, help="Reveal every item.")
@click.option("--id", "ids", multiple=True, metavar="ID", help="Reveal this item; repeat for more.")
@click.option("--version", type=int, help="Hidden-set version (default: the newest).")
@json_option
@friendly
def challenge_reveal(
    challenge_slug: str, reveal_all: bool, ids: tuple[str, ...], version: int | None, as_json: bool
) -> None:
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
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the reveal document to.",
)
@friendly
def challenge_get_reveal(challenge_slug: str, version: int | None, output: Path) -> None:
    """Anyone: download a published reveal, to check with `arena verify-set FILE`."""
    document = ArenaClient(token="").revealed(challenge_slug, version)
    output.write_text(json.dumps(document))
    click.echo(f"wrote {len(document['items'])} item(s) to {output}", err=True)


@challenge.command("get-sample")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the sample's public labels to this file (outside FOLDER: a container "
    "never sees labels in /input).",
)
@friendly
def challenge_get_sample(challenge_slug: str, folder: Path, labels_file: Path | None) -> None:
    """Anyone: download the public sample set into FOLDER, laid out as a job's /input.

    Writes FOLDER/task.json and FOLDER/inputs.jsonl (for an interactive challenge, FOLDER/items.jsonl:
    the driver sends these, the container gets no inputs file), and FOLDER/assets/… when the
    sample's items reference binary assets. `arena try CHALLENGE IMAGE` does the whole local
    run for you: the same sandbox and limits, Arena's checker and the challenge's metric.
    """
    from sandbox import write_task

    client = ArenaClient(token="")
    shown = client.challenge(challenge_slug)
    if not shown["has_sample"]:
        raise click.ClickException(f"challenge {challenge_slug!r} has no public sample set")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.jsonl").unlink(missing_ok=True)  # an older get-sample put them here
    interactive = shown.get("protocol") == "interactive"
    inputs = folder / ("items.jsonl" if interactive else "inputs.jsonl")
    client.download_sample(challenge_slug, "inputs.jsonl", lambda chunks: _write_chunks(inputs, chunks))
    with inputs.open("rb") as handle:
        n_items = sum(1 for line in handle if line.strip())
    write_task(
        folder,
        challenge=challenge_slug,
        metric=shown["metric"],
        n_items=n_items,
        protocol=shown.get("protocol", "batch"),
    )
    if labels_file is not None:
        client.download_sample(challenge_slug, "labels.jsonl", lambda chunks: _write_chunks(labels_file, chunks))
    if shown.get("n_sample_assets"):
        client.download_sample(challenge_slug, "assets.tar", lambda chunks: _unpack_chunks(folder, chunks))
    click.echo(
        f"wrote the sample of {challenge_slug} to {folder}: task.json, {inputs.name} "
        f"({n_items} items), {shown.get('n_sample_assets', 0)} asset file(s)",
        err=True,
    )


def _write_chunks(path: Path, chunks) -> None:
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)


def _unpack_chunks(folder: Path, chunks) -> None:
    from arena.streams import Readable, UnpackError, unpack_assets
    from sandbox import ASSET_LIMITS

    shutil.rmtree(folder / "assets", ignore_errors=True)  # a fresh copy, not a mix with an older one
    try:
        unpack_assets(Readable(chunks, length=0), folder, limits=ASSET_LIMITS)
    except UnpackError as exc:
        raise click.ClickException(f"the sample's assets did not arrive whole: {exc}") from None


@challenge.command("register")
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def challenge_register(challenge_slug: str, as_json: bool) -> None:
    """Team: take part in CHALLENGE (at once if registration is open, else pending approval)."""
    made = _client().register(challenge_slug)
    _emit(made, as_json, lambda d: f"registration for {d['challenge']}: {d['status']}")


@challenge.command("registrations")
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def challenge_registrations(challenge_slug: str, as_json: bool) -> None:
    """Organiser: the teams that asked to take part, and where each stands."""
    rows = _client().registrations(challenge_slug)
    _emit(
        rows,
        as_json,
        lambda rs: "\n".join(f"{r['team_id']:>5}  {r['status']:<9} {r['team']}" for r in rs) or "no registrations yet",
    )


@challenge.command("approve")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("team_id", type=int)
@click.option("--refuse", is_flag=True, help="Refuse the team instead.")
@json_option
@friendly
def challenge_approve(challenge_slug: str, team_id: int, refuse: bool, as_json: bool) -> None:
    """Organiser: approve (or --refuse) team TEAM_ID for CHALLENGE."""
    made = _client().decide(challenge_slug, team_id, not refuse)
    _emit(made, as_json, lambda d: f"{d['team']}: {d['status']}")


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


STATE_FILE = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "arena" / "uploads.json"


def _state() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _remember(key: str, value: str | None) -> None:
    state = _state()
    if value is None:
        state.pop(key, None)
    else:
        state[key] = value
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state))


def _export(image: str, folder: Path, quiet: bool) -> tuple[Path, str]:
    from sandbox import ImageError, SandboxError, export_image

    if not quiet:
        click.echo(f"exporting {image} (docker save) …", err=True)
    tarball = folder / "image.tar"
    try:
        _image_id, sha256, _size = export_image(image, tarball)
    except (ImageError, SandboxError) as exc:
        raise click.ClickException(str(exc)) from None
    return tarball, sha256


def _upload(client: ArenaClient, tarball: Path, sha256: str, quiet: bool) -> str:
    """Upload in parts, resuming an upload of the same tarball that an earlier run left unfinished."""
    key = f"{client.url}|{sha256}"
    earlier, received = _state().get(key), 0
    if earlier:
        try:
            found = client.upload_status(earlier)
            if found["complete"]:
                return found["image_digest"]
            received = found["received"]
        except ClientError:
            earlier = None
    size = tarball.stat().st_size
    if quiet or not sys.stderr.isatty():
        done = _send(client, tarball, sha256, earlier, key, None)
    else:
        with click.progressbar(
            length=size, label="uploading", file=sys.stderr, show_eta=True, show_percent=True
        ) as bar:
            bar.update(received)
            done = _send(client, tarball, sha256, earlier, key, bar.update)
    _remember(key, None)
    return done["image_digest"]


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


def _send(client: ArenaClient, tarball: Path, sha256: str, upload_id: str | None, key: str, progress):
    if upload_id is None:
        upload_id = client.start_upload(tarball.stat().st_size, sha256)["id"]
        _remember(key, upload_id)  # so that a later run resumes instead of starting over
    return client.upload_tarball(tarball, sha256, upload_id=upload_id, progress=progress)


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
        digest = _upload(client, tarball, sha256, quiet=as_json)
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
    from arena.errors import BadRequest
    from arena.services.submissions import check_method_card

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
    from arena.cli.log_cmds import add_log_commands
    from arena.cli.verify import verify_log, verify_set
    from arena.cli.witness import witness

    add_log_commands(public_log)
    for command in (challenge, team, submit, status, logs, leaderboard, verify_set, public_log, verify_log, witness):
        group.add_command(command)
