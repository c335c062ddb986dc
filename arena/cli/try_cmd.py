"""`arena try CHALLENGE IMAGE`: a sample run on your own machine, before any upload."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from arena.cli.client_cmds import score_text
from arena.cli.common import friendly, json_option, unpack_chunks, write_chunks
from arena.client import ArenaClient


def _sample(client: ArenaClient, slug: str):
    from arena.trial import Sample

    shown = client.challenge(slug)
    if not shown["has_sample"]:
        raise click.ClickException(f"challenge {slug!r} has no public sample set to try your image on")

    def write_inputs(path: Path) -> None:
        client.download_sample(slug, "inputs.jsonl", lambda chunks: write_chunks(path, chunks))

    def unpack(folder: Path) -> None:
        client.download_sample(slug, "assets.tar", lambda chunks: unpack_chunks(folder, chunks))

    return Sample(
        slug=slug,
        metric=shown["metric"],
        limits=shown["limits"],
        protocol=shown["protocol"],
        secondary_metrics=shown.get("secondary_metrics") or [],
        write_inputs=write_inputs,
        unpack_assets=unpack if shown.get("n_sample_assets") else None,
        labels=client.sample_labels(slug),
    )


def _human(result: dict) -> str:
    head = (
        f"{result['challenge']}: {result['image']} on the {result['n_items']} sample item(s), "
        f"{result['duration_s']:.1f} s"
    )
    if result["status"] == "scored":
        interval = (
            f" (95% interval {result['ci_low']:.4f} – {result['ci_high']:.4f})" if result["ci_low"] is not None else ""
        )
        line = f"scored  {score_text(result)}{interval}"
    else:
        line = f"failed  {result['failure_reason']}: {result['failure_detail']}"
    log = result["log"].rstrip("\n")
    shown = f"what the container printed (last 64 KiB):\n{log}" if log else "the container printed nothing"
    advice = (
        "it would pass: submit it with `arena submit CHALLENGE IMAGE`"
        if result["status"] == "scored"
        else "fix it, then try again"
    )
    return "\n".join(
        [head, line, shown, advice.replace("CHALLENGE", result["challenge"]).replace("IMAGE", result["image"])]
    )


@click.command("try")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("image")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Copy the run's input/ and output/ folders here afterwards, to look at them.",
)
@json_option
@friendly
def try_command(challenge_slug: str, image: str, keep: Path | None, as_json: bool) -> None:
    """Run IMAGE (in your local Docker engine) on CHALLENGE's public sample, here, exactly as a
    sample run would on the platform, and show what that run would show. Nothing is uploaded.

    \b
    - fetches the public sample's inputs (and assets), laid out as /input with task.json;
    - runs the image under the platform's sandbox with the challenge's own limits (no network,
      read-only root, unprivileged user, memory, CPUs, processes, time limit);
    - for an interactive challenge, drives the model's chat API with Arena's own driver;
    - checks /output/predictions.jsonl with Arena's own checker and scores it with the
      challenge's metric (and its secondary metrics) against the sample's public labels, which
      never enter the container's folders.

    Exits 0 when the run would be scored, 1 when it would fail (the reason is the one the
    platform would give). Needs no token: the sample is public.
    """
    from sandbox import GpuAllocator, ImageError, SandboxError, local_image_id, make_runner, parse_gpu_setting

    client = ArenaClient(token="")
    sample = _sample(client, challenge_slug)
    if sample.protocol not in ("batch", "interactive"):
        raise click.ClickException(
            f"arena try does not know protocol {sample.protocol!r}; run it on the platform with `arena submit --sample`"
        )
    try:
        image_id = local_image_id(image)
        runner = make_runner("docker", instance="arena-try", gpus=GpuAllocator(parse_gpu_setting("auto")))
        from arena.trial import try_image

        if not as_json:
            click.echo(f"running {image} on the sample of {challenge_slug} …", err=True)
        result = try_image(runner, sample, image=image, image_id=image_id, keep=keep).as_dict()
    except (ImageError, SandboxError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, indent=2) if as_json else _human(result))
    if result["status"] != "scored":
        sys.exit(1)


def register(group: click.Group) -> None:
    group.add_command(try_command)
