"""What the client commands share: the `--json` option, the API client from the environment,
errors as one line, output as text or JSON, the log key to trust, and writing downloads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from arena.client import ArenaClient, ClientError
from arena.tlog import NoteError, NoteKey, parse_vkey

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def client() -> ArenaClient:
    """A client for ARENA_URL with ARENA_TOKEN."""
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


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """Print `data` as JSON (--json) or as `human` words it."""
    click.echo(json.dumps(data, indent=2) if as_json else human(data))


def trusted_log_key(client: ArenaClient, vkey: str | None) -> NoteKey:
    """The log's verifier key: as given (--log-key), else the one the server publishes."""
    try:
        return parse_vkey(vkey or client._request("GET", "/.well-known/arena-keys.json")["log"]["vkey"])
    except NoteError as error:
        raise click.BadParameter(str(error), param_hint="--log-key") from None


def write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)


def unpack_chunks(folder: Path, chunks: Iterable[bytes]) -> None:
    """Unpack a downloaded assets tar into folder/assets, within the limits of a hidden set's."""
    from arena.streams import Readable, UnpackError, unpack_assets
    from sandbox import ASSET_LIMITS

    shutil.rmtree(folder / "assets", ignore_errors=True)  # a fresh copy, not a mix with an older one
    try:
        unpack_assets(Readable(chunks, length=0), folder, limits=ASSET_LIMITS)
    except UnpackError as exc:
        raise click.ClickException(f"the sample's assets did not arrive whole: {exc}") from None
