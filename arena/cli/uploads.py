"""Uploading an image from the local Docker engine: exported with `docker save`, sent in resumable
parts; an upload a run left unfinished is resumed by the next (its id kept in STATE_FILE)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from arena.client import ArenaClient, ClientError

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


def export(image: str, folder: Path, quiet: bool) -> tuple[Path, str]:
    """IMAGE saved from the local engine to folder/image.tar: (its path, its SHA-256)."""
    from sandbox import ImageError, SandboxError, export_image

    if not quiet:
        click.echo(f"exporting {image} (docker save) …", err=True)
    tarball = folder / "image.tar"
    try:
        _image_id, sha256, _size = export_image(image, tarball)
    except (ImageError, SandboxError) as exc:
        raise click.ClickException(str(exc)) from None
    return tarball, sha256


def upload(client: ArenaClient, tarball: Path, sha256: str, quiet: bool) -> str:
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


def _send(
    client: ArenaClient,
    tarball: Path,
    sha256: str,
    upload_id: str | None,
    key: str,
    progress: Callable[[int], Any] | None,
) -> dict:
    if upload_id is None:
        upload_id = client.start_upload(tarball.stat().st_size, sha256)["id"]
        _remember(key, upload_id)  # so that a later run resumes instead of starting over
    return client.upload_tarball(tarball, sha256, upload_id=upload_id, progress=progress)
