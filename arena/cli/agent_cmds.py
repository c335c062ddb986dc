"""Commands for agent challenges: the organiser's environment image, and trajectories."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from arena.cli.client_cmds import _client, _emit, _export, challenge, friendly, json_option


@challenge.command("set-environment")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("image")
@json_option
@friendly
def challenge_set_environment(challenge_slug: str, image: str, as_json: bool) -> None:
    """Organiser: upload IMAGE (a local Docker image) as the environment of agent challenge
    CHALLENGE, and pin the challenge to its digest.

    The image is exported with `docker save` and streamed up; the server checks it like a team's
    image and stores it by SHA-256. Arena starts it once per item, in the same sandbox as a team's
    image, with `sleep infinity` as its process; see docs/agent-protocol.md for what it must hold
    (/bin/sh, bash and python3 for those tools, coreutils, the score command). Prints the digest.
    """
    with tempfile.TemporaryDirectory(prefix="arena-env-") as folder:
        tarball, _sha256 = _export(image, Path(folder), as_json)
        with tarball.open("rb") as handle:
            made = _client().set_environment(challenge_slug, iter(lambda: handle.read(1 << 20), b""))
    _emit(made, as_json, lambda d: f"environment of {d['slug']}: {d['image_digest']}")


@click.command()
@click.argument("submission_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the trajectory (JSON lines) to this file instead of printing a summary.",
)
@json_option
@friendly
def trajectory(submission_id: str, output: Path | None, as_json: bool) -> None:
    """The trajectory of an agent run: every message of the conversation, every tool call with its
    result and time, the limits that stopped an item, and each item's score output.

    The challenge's organiser reads those of every run (hidden runs are decrypted on the server,
    and each read is audited); a team reads those of its own sample runs only.
    """
    data = _client().trajectory(submission_id)
    if output:
        output.write_bytes(data)
        click.echo(f"wrote {len(data)} bytes to {output}", err=True)
        return
    events = [json.loads(line) for line in data.splitlines() if line.strip()]
    _emit(events, as_json, lambda rows: "\n".join(_line(e) for e in rows) or "(empty)")


def _line(event: dict) -> str:
    kind, item = event.get("event"), event.get("item")
    if kind == "tool":
        first = (event.get("result") or "").strip().splitlines()[:1]
        return f"{item}  tool {event['name']} {event['arguments'][:80]} -> {first[0][:100] if first else ''}"
    if kind == "assistant":
        return f"{item}  assistant {(event.get('content') or '')[:100]!r} {len(event.get('tool_calls') or [])} call(s)"
    if kind == "limit":
        return f"{item}  limit {event['limit']}: {event['detail']}"
    if kind == "score":
        return f"{item}  score {event['score']} (exit code {event['exit_code']})"
    return f"{item}  {kind}"


def register(group: click.Group) -> None:
    group.add_command(trajectory)
