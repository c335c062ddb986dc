"""`arena rewards grant|check`: a closed round's GPU-minutes granted to the factories' Slurm
accounts with sacctmgr, and those limits checked against the grants (on the server's machine)."""

from __future__ import annotations

import json
import sys

import click

from arena.cli.server_home import run_service, server_platform


def _accounts(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        factory, sep, account = value.rpartition("=")
        if not sep or not factory or not account:
            raise click.BadParameter(f"{value!r} is not FACTORY=ACCOUNT", param_hint="--account")
        out[factory] = account
    return out


@click.command("grant")
@click.argument("challenge")
@click.option("--round", "number", required=True, type=click.IntRange(1, 10**6), help="The closed round's number.")
@click.option(
    "--account-prefix",
    default="arena-",
    show_default=True,
    help="A factory's Slurm account is this prefix and its name in lowercase ('LUMI' -> arena-lumi)...",
)
@click.option(
    "--account", "accounts", multiple=True, metavar="FACTORY=ACCOUNT", help="...unless mapped here (repeatable)."
)
@click.option(
    "--sacctmgr", default="sacctmgr", show_default=True, help="The sacctmgr command (with its SLURM_CONF, say)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rewards_grant(
    challenge: str, number: int, account_prefix: str, accounts: tuple[str, ...], sacctmgr: str, as_json: bool
) -> None:
    """Grant round N's GPU-minutes (from its signed report) to each factory's Slurm account: sets
    GrpTRESMins=gres/gpu=TOTAL, the sum of every grant to that account, with sacctmgr. Running it
    again changes nothing; each grant is audited and names the report's log entry."""
    from arena.services import grants
    from arena.slurm import SacctmgrCli, SlurmError

    try:
        done = run_service(
            lambda: grants.grant(
                server_platform(),
                slug=challenge,
                number=number,
                sacctmgr=SacctmgrCli(sacctmgr),
                prefix=account_prefix,
                overrides=_accounts(accounts),
            )
        )
    except SlurmError as exc:
        raise click.ClickException(f"sacctmgr failed: {exc}") from None
    if as_json:
        click.echo(json.dumps(done))
        return
    click.echo(f"{challenge} round {number} (report: log entry {done['report']['seq']})")
    for row in done["factories"]:
        state = "granted" if row["new"] else "already granted"
        click.echo(f"  {row['factory']:<24} {row['gpu_minutes']:>10} GPU-minutes -> {row['account']} ({state})")
    for account, minutes in done["limits"].items():
        click.echo(f"  {account}: GrpTRESMins=gres/gpu={minutes}")


@click.command("check")
@click.option("--sacctmgr", default="sacctmgr", show_default=True, help="The sacctmgr command.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rewards_check(sacctmgr: str, as_json: bool) -> None:
    """Compare each granted account's limit in Slurm with the sum of its grants (exit 1 on a
    difference)."""
    from arena.services import grants
    from arena.slurm import SacctmgrCli, SlurmError

    try:
        rows = grants.check(server_platform(), sacctmgr=SacctmgrCli(sacctmgr))
    except SlurmError as exc:
        raise click.ClickException(f"sacctmgr failed: {exc}") from None
    if as_json:
        click.echo(json.dumps({"accounts": rows}))
    else:
        for row in rows:
            click.echo(
                f"{row['account']:<24} granted {row['granted']:>10}  slurm {row['slurm']}  "
                f"{'ok' if row['agrees'] else 'DIFFERS'}"
            )
    if not all(row["agrees"] for row in rows):
        sys.exit(1)
