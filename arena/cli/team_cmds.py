"""`arena submissions` (a team's runs, quota and receipts) and `arena team list` (an organiser's
view of the teams)."""

from __future__ import annotations

import click

from arena.cli.client_cmds import score_text, team
from arena.cli.common import client as _client
from arena.cli.common import emit as _emit
from arena.cli.common import friendly, json_option


def _run_line(run: dict) -> str:
    kind = "sample" if run["kind"] == "sample" else "hidden"
    what = (
        score_text(run)
        if run["status"] == "scored"
        else (f"{run['failure_reason']}: {run['failure_detail']}" if run["status"] == "failed" else "")
    )
    receipt = f"  receipt: log entry {run['receipt_entry']['seq']}" if run.get("receipt_entry") else ""
    return f"{run['id']}  {run['challenge']:<20} {kind:<6} {run['created_at']}  {run['status']:<7} {what}{receipt}"


def _quota_line(quota: dict) -> str:
    return (
        f"{quota['challenge']}: {quota['left']} of {quota['quota']} {quota['kind']} run(s) left today "
        f"(resets {quota['resets_at']})"
    )


def _human(found: dict) -> str:
    lines = [_quota_line(q) for q in found["quotas"]]
    lines += [_run_line(r) for r in found["submissions"]] or ["no submissions yet"]
    return "\n".join(lines)


@click.command("submissions")
@click.argument("challenge_slug", metavar="[CHALLENGE]", required=False)
@json_option
@friendly
def submissions(challenge_slug: str | None, as_json: bool) -> None:
    """Team: your submissions (to CHALLENGE, or to all), newest first, with their status, score
    (and secondary scores), failure reason and public-log receipt, and your runs left today.

    Each hidden submission's receipt is an entry of the public log (its sequence number here; the
    leaf hash with --json), signed by the platform when the submission arrived.
    """
    client = _client()
    if not client.token:
        raise click.ClickException("`arena submissions` needs your team token in ARENA_TOKEN")
    found = client.submissions(challenge_slug)
    if "quotas" not in found:
        raise click.ClickException(
            "`arena submissions` lists a team's own runs: use a team token "
            "(organisers read a run with `arena status ID`)"
        )
    _emit(found, as_json, _human)


def _team_line(row: dict) -> str:
    factories = ", ".join(
        f["factory"] + (f" {f['percent']}" if len(row["factories"]) > 1 else "") for f in row["factories"]
    )
    taking = "; ".join(f"{r['challenge']} {r['status']}" for r in row["registrations"]) or "no registration"
    return f"{row['id']:>5}  {row['team']:<28} {factories:<40} {taking}"


@team.command("list")
@json_option
@friendly
def team_list(as_json: bool) -> None:
    """Organiser: every team, with its factories (an alliance's shares in percent) and where it
    stands in each of your challenges (approved, pending, refused, eliminated)."""
    rows = _client().teams()
    _emit(rows, as_json, lambda rs: "\n".join(_team_line(r) for r in rs) or "no teams yet")


def register(group: click.Group) -> None:
    group.add_command(submissions)
