"""`arena round` and `arena rewards`: the schedule, closing rounds, and the payout reports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click

from arena.cli.common import client as _client
from arena.cli.common import emit as _emit
from arena.cli.common import friendly, json_option
from arena.client import ArenaClient, ClientError
from arena.domain.tables import euros, report_csv
from arena.units import gpu_hours, percent


@click.group("round")
def round_group() -> None:
    """Rounds: the schedule (anyone), closing a round and re-admitting a team (organisers)."""


def _pool(cents: int, minutes: int) -> str:
    return f"{euros(cents)} EUR and {gpu_hours(minutes)}"


@round_group.command("list")
@click.argument("challenge_slug", metavar="CHALLENGE")
@json_option
@friendly
def round_list(challenge_slug: str, as_json: bool) -> None:
    """Show CHALLENGE's rounds (when each opens and ends, its state and pool) and its rules."""
    found = ArenaClient(token="").rounds(challenge_slug)

    def human(d: dict) -> str:
        if not d["rules"]:
            return f"{challenge_slug} has no rounds"
        rules = d["rules"]
        kpi = rules["kpi"]
        lines = [
            f"rule: {rules['rewards']['rule']}"
            + (f" (shares {', '.join(rules['rewards']['shares'])})" if rules["rewards"]["shares"] else "")
            + ("; only open-source entries are paid" if rules["rewards"].get("require_open_source") else ""),
            "KPI: "
            + (
                f"beat {_baseline(kpi['baseline'])} with p < {kpi['alpha']:g}"
                + (f"; eliminated after {kpi['eliminate_after']} misses in a row" if kpi["eliminate_after"] else "")
                if kpi
                else "none: every ranked team qualifies"
            ),
        ]
        for r in d["rounds"]:
            paid = f", paid {_pool(r['paid_cents'], r['paid_gpu_minutes'])}" if r["paid_cents"] is not None else ""
            lines.append(
                f"{r['number']:>3}  {r['name']:<20} {r['status']:<9} {r['opens_at']} → {r['ends_at']}  "
                f"pool {_pool(r['pool_cents'], r['pool_gpu_minutes'])}{paid}"
            )
        return "\n".join(lines)

    _emit(found, as_json, human)


def _baseline(baseline: dict) -> str:
    return f"the score {baseline['score']:g}" if "score" in baseline else f"team {baseline['team']}"


@round_group.command("close")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option("--early", is_flag=True, help="Close the round before its end time (the report records it).")
@click.option("--wait", is_flag=True, help="Wait until the round's last runs have finished and it has closed.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait with --wait.")
@json_option
@friendly
def round_close(challenge_slug: str, early: bool, wait: bool, timeout: int, as_json: bool) -> None:
    """Organiser: close CHALLENGE's current round.

    A round closes by itself at its end time. Before then, closing needs --early. The round stops
    taking submissions at once, and closes as soon as the runs it took have finished: then its
    final ranking, KPI verdicts and awards are computed, signed and logged (`arena rewards`).
    """
    client = _client()
    found = client.close_round(challenge_slug, early=early)
    deadline = time.monotonic() + timeout
    while wait and found["status"] != "closed":
        if time.monotonic() > deadline:
            raise ClientError(f"{found['name']} is still {found['status']} after {timeout} s")
        time.sleep(2)
        found = next(r for r in client.rounds(challenge_slug)["rounds"] if r["number"] == found["number"])
    _emit(
        found,
        as_json,
        lambda r: (
            f"{r['name']} of {challenge_slug}: {r['status']}"
            + ("" if r["status"] == "closed" else " (it closes once its last runs have finished)")
        ),
    )


@round_group.command("add")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@friendly
def round_add(challenge_slug: str, file: Path, as_json: bool) -> None:
    """Organiser: append the rounds of FILE (YAML) to CHALLENGE, while it runs.

    \b
    FILE holds `rounds` as in challenge.yaml, and, only if they change for these rounds,
    `kpi` and `rewards` (left out, the rules of the last round go on):
      rounds:
        - name: Spring              # the first may leave out its start: it opens when the
          end: 2027-05-01T00:00:00Z  # last round stops (or now, if that one is over)
          euros: 5000               # left out: the last round's pool
      kpi: {baseline: {score: 0.9}}

    Rounds already there never change; the new ones come after the last, start no earlier than
    now, and their rules are public (a signed log entry) before they open. Each round's report
    carries the rules that decided it, and `arena verify` checks them against the log.
    """
    import yaml

    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise click.ClickException(f"{file} is not YAML text") from None
    found = _client().add_rounds(challenge_slug, json.loads(json.dumps(doc, default=_iso)))
    _emit(
        found,
        as_json,
        lambda d: "\n".join(
            [f"added to {challenge_slug} (log entry {d['log_entry']['seq']}):"]
            + [
                f"{r['number']:>3}  {r['name']:<20} {r['status']:<9} {r['opens_at']} → {r['ends_at']}  "
                f"pool {_pool(r['pool_cents'], r['pool_gpu_minutes'])}"
                for r in d["added"]
            ]
        ),
    )


def _iso(value) -> str:
    """YAML reads a bare timestamp as a datetime; send it as the text it was."""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    raise TypeError(f"{type(value).__name__} is not JSON")


@round_group.command("readmit")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.argument("team")
@json_option
@friendly
def round_readmit(challenge_slug: str, team: str, as_json: bool) -> None:
    """Organiser: let TEAM, eliminated for missing its KPI, take part in CHALLENGE again."""
    found = _client().readmit(challenge_slug, team)
    _emit(found, as_json, lambda d: f"{d['team']} may take part in {d['challenge']} again")


class _RewardsGroup(click.Group):
    """`arena rewards CHALLENGE` shows a round's report (the `show` command); `arena rewards grant`
    and `arena rewards check` (on the server machine) turn reports into Slurm accounting limits."""

    SERVER_COMMANDS = ("grant", "check")
    load_server_commands: Callable[[], None] | None = None  # set by arena/cli/__init__.py

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.SERVER_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.SERVER_COMMANDS and cmd_name not in self.commands and self.load_server_commands:
            self.load_server_commands()
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.list_commands(ctx):
            return "show", self.commands["show"], args
        return super().resolve_command(ctx, args)


@click.group("rewards", cls=_RewardsGroup)
def rewards_group() -> None:
    """Closed rounds' awards: `arena rewards CHALLENGE` shows the payout report; `arena rewards
    grant CHALLENGE --round N` grants its GPU-minutes into Slurm accounting (server machine);
    `arena rewards check` compares Slurm's limits with the grants."""


@rewards_group.command("show")
@click.argument("challenge_slug", metavar="CHALLENGE")
@click.option("--round", "number", type=click.IntRange(1), help="The round; default the latest closed one.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the payout as CSV (a line per team and factory) to this file.",
)
@json_option
@friendly
def rewards(challenge_slug: str, number: int | None, csv_file: Path | None, as_json: bool) -> None:
    """Show a closed round's payout report: the final ranking on the private split, intervals,
    KPI verdicts, and the awards per team and per factory, in euros and GPU-minutes.

    The report is signed and in the public log; `arena log export` and `arena verify` recompute
    every verdict and amount from it and the rules logged when the challenge opened.
    """
    found = ArenaClient(token="").rewards(challenge_slug, number)
    report = found["report"]
    if csv_file:
        csv_file.write_text(report_csv(report))
    _emit(found, as_json, lambda _: _human_report(report))


def _human_report(report: dict) -> str:
    lines = [
        f"{report['challenge']} — {report['name']} (round {report['round']}), closed {report['closed_at']}"
        + (" early" if report["closed_early"] else ""),
        f"rule {report['rules']['rewards']['rule']}; "
        f"pool {_pool(report['pool']['cents'], report['pool']['gpu_minutes'])}",
        f"{'pos':>4} {'band':>4}  {'team':<20} {'score':>8}  {'interval':<17} {'KPI':<13} {'EUR':>12} {'GPU time':>20}",
    ]
    for s in report["standings"]:
        interval = f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]" if s["ci_low"] is not None else ""
        score = f"{s['score']:.4f}" if s["score"] is not None else "-"
        flag = "  ELIMINATED" if s["eliminated"] else ""
        lines.append(
            f"{s['position'] or '-':>4} {s['band'] or '-':>4}  {s['team']:<20} {score:>8}  {interval:<17} "
            f"{s['kpi']:<13} {euros(s['cents']):>12} {gpu_hours(s['gpu_minutes']):>20}{flag}"
        )
        if len(s["factories"]) > 1:
            for f in s["factories"]:
                lines.append(
                    f"{'':>31}{f['factory']} ({percent(f['share'])}): {euros(f['cents'])} EUR, "
                    f"{gpu_hours(f['gpu_minutes'])}"
                )
    lines.append(f"paid {_pool(report['totals']['cents'], report['totals']['gpu_minutes'])}")
    return "\n".join(lines)


def register(group: click.Group) -> None:
    group.add_command(round_group)
    group.add_command(rewards_group)
