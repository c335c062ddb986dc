"""Awards become compute: a closed round's GPU-minutes, granted into each factory's Slurm account.

The signed round report (services/rounds.py, in the public log) says how many GPU-minutes each
factory won. `grant` records one grant per challenge, round and factory (never twice), then sets
each touched account's `GrpTRESMins=gres/gpu=N` to the sum of everything ever granted to it, so
running it again changes nothing, and an account's limit can be checked against the reports it
came from (`check`). Each grant is audited and logged with the report's log entry.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, Conflict
from arena.models import ComputeGrant
from arena.runtime import Platform
from arena.services import audit, rounds
from arena.services.challenges import get_challenge

log = logging.getLogger("arena.grants")
ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def factory_minutes(report: dict) -> dict[str, int]:
    """GPU-minutes won by each factory in a round report (an alliance's shares already split)."""
    totals: dict[str, int] = defaultdict(int)
    for standing in report.get("standings", []):
        for part in standing.get("factories") or []:
            if part.get("factory") and int(part.get("gpu_minutes") or 0) > 0:
                totals[part["factory"]] += int(part["gpu_minutes"])
    return dict(sorted(totals.items()))


def account_name(factory: str, *, prefix: str, overrides: dict[str, str]) -> str:
    """The factory's Slurm account: an explicit mapping, else prefix + the name in lowercase."""
    name = overrides.get(factory) or prefix + re.sub(r"[^a-z0-9]+", "-", factory.lower()).strip("-")
    if not ACCOUNT_RE.match(name):
        raise BadRequest(f"{name!r} (for factory {factory!r}) is not a Slurm account name; map it with --account")
    return name


def grant(
    platform: Platform,
    *,
    slug: str,
    number: int,
    sacctmgr,
    prefix: str = "arena-",
    overrides: dict[str, str] | None = None,
    actor=None,
) -> dict:
    """Grant round `number` of `slug` into Slurm accounting (idempotent); what was granted, and each
    account's limit now."""
    found = rounds.get_report(platform, slug=slug, number=number)
    report, entry = found["report"], found["log_entry"]
    wanted = {
        f: (account_name(f, prefix=prefix, overrides=overrides or {}), m) for f, m in factory_minutes(report).items()
    }
    new = _record(platform, slug=slug, number=number, wanted=wanted, entry=entry, actor=actor)
    limits = {}
    for account in sorted({a for a, _m in wanted.values()}):
        sacctmgr.ensure_account(account, description=f"Arena awards ({slug})")
        limits[account] = total_for(platform, account=account)
        sacctmgr.set_gpu_minutes(account, limits[account])
        log.info("Slurm account %s: GrpTRESMins=gres/gpu=%d", account, limits[account])
    return {
        "challenge": slug,
        "round": number,
        "report": entry,
        "factories": [{"factory": f, "account": a, "gpu_minutes": m, "new": f in new} for f, (a, m) in wanted.items()],
        "limits": limits,
    }


def _record(platform: Platform, *, slug: str, number: int, wanted: dict, entry: dict, actor) -> set[str]:
    """Record the grants not recorded yet; refuse a factory recorded under another account."""
    try:
        with platform.transaction() as session:
            challenge = get_challenge(session, slug)
            done = {
                g.factory: g
                for g in session.scalars(
                    select(ComputeGrant).where(
                        ComputeGrant.challenge_id == challenge.id, ComputeGrant.round_number == number
                    )
                )
            }
            new = set()
            for factory, (account, minutes) in wanted.items():
                if factory in done:
                    if done[factory].account != account:
                        raise Conflict(
                            f"round {number}'s GPU-minutes for {factory!r} went to account "
                            f"{done[factory].account!r} already; map it there (--account)"
                        )
                    continue
                session.add(
                    ComputeGrant(
                        challenge_id=challenge.id,
                        round_number=number,
                        factory=factory,
                        account=account,
                        gpu_minutes=minutes,
                        report_seq=entry["seq"],
                        report_leaf_hash=entry["leaf_hash"],
                    )
                )
                audit.record(
                    session,
                    actor=actor,
                    action="rewards.grant",
                    target=f"account:{account}",
                    detail={
                        "challenge": slug,
                        "round": number,
                        "factory": factory,
                        "gpu_minutes": minutes,
                        "report_seq": entry["seq"],
                    },
                )
                new.add(factory)
            return new
    except IntegrityError:  # another grant of the same round at the same moment: it recorded them
        return set()


def total_for(platform: Platform, *, account: str) -> int:
    with platform.sessions() as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(ComputeGrant.gpu_minutes), 0)).where(ComputeGrant.account == account)
            )
        )


def check(platform: Platform, *, sacctmgr) -> list[dict]:
    """Each granted account: what the grants (and so the signed reports) add up to, what Slurm
    holds, and whether they agree."""
    with platform.sessions() as session:
        accounts = session.scalars(select(ComputeGrant.account).distinct().order_by(ComputeGrant.account)).all()
    out = []
    for account in accounts:
        expected, held = total_for(platform, account=account), sacctmgr.gpu_minutes(account)
        out.append({"account": account, "granted": expected, "slurm": held, "agrees": expected == held})
    return out
