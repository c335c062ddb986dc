"""`arena challenge …`: create challenges and new versions, reveal, scorers, registrations
(organisers); list, samples and reveals (anyone); register (teams)."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from arena.cli.common import client as _client
from arena.cli.common import emit as _emit
from arena.cli.common import friendly, json_option, unpack_chunks, write_chunks
from arena.cli.uploads import export, upload
from arena.client import ArenaClient


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
        tarball, sha256 = export(image, Path(folder), quiet=quiet)
        return upload(client, tarball, sha256, quiet=quiet)


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
def _upload_progress(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
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
    client.download_sample(challenge_slug, "inputs.jsonl", lambda chunks: write_chunks(inputs, chunks))
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
        client.download_sample(challenge_slug, "labels.jsonl", lambda chunks: write_chunks(labels_file, chunks))
    if shown.get("n_sample_assets"):
        client.download_sample(challenge_slug, "assets.tar", lambda chunks: unpack_chunks(folder, chunks))
    click.echo(
        f"wrote the sample of {challenge_slug} to {folder}: task.json, {inputs.name} "
        f"({n_items} items), {shown.get('n_sample_assets', 0)} asset file(s)",
        err=True,
    )


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
