"""A programme that goes on: rounds appended to a running challenge.

The organiser adds rounds after the last one (their schedule, pools and, if they change, the KPI
and reward rules that decide them). Rounds already there never change: the new ones start no
earlier than the last one stops and no earlier than now, so every round's rules are public
before it opens. Each addition is a signed `rounds.add` entry of the public log; each added
round keeps its rules, its report carries them, and `arena verify` checks each report against
the rules in force when its round opened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from arena.db import advisory_lock
from arena.domain.rules import parse_added_rounds, parse_time
from arena.errors import BadRequest
from arena.models import Challenge, Round
from arena.runtime import Platform
from arena.services import audit, publiclog, tenancy
from arena.services.rounds import add_rounds, list_rounds, rules_of, stops_at
from arena.timeutil import iso, utcnow


def _owned(session, organiser, slug: str) -> Challenge:
    challenge = tenancy.run_challenge(session, who=organiser, slug=slug, what="add rounds to it")
    if challenge.rules is None:
        raise BadRequest(f"{slug} has no rounds: its challenge.yaml declares none, so none can follow")
    return challenge


def _parse(doc, challenge: Challenge, last: Round) -> dict:
    try:
        return parse_added_rounds(
            doc,
            challenge.metric,
            in_force=rules_of(challenge, last),
            first=last.number + 1,
            pools=(last.pool_cents, last.pool_gpu_minutes),
            previous_end=stops_at(last),
        )
    except BadRequest as exc:
        raise BadRequest(exc.message.replace("challenge bundle: ", "rounds to add: ", 1)) from None


def _settle_start(parsed: dict, *, last: Round, now: datetime) -> None:
    """Every added round opens after its addition is logged: a first round without a start, after
    a round that has already stopped, opens a second from now; none may start or end in the past."""
    first = parsed["rounds"][0]
    if first["start"] is None and stops_at(last) <= now:
        first["start"] = iso(now.replace(microsecond=0) + timedelta(seconds=1))
    for item in parsed["rounds"]:
        opens = parse_time(item["start"], "start") if item["start"] else None
        if opens is not None and opens < now:
            raise BadRequest(
                f"rounds to add: round {item['number']} would start at {item['start']}, before now; "
                "a round's rules are published before it opens, so start it in the future"
            )
        if parse_time(item["end"], "end") <= now:
            raise BadRequest(f"rounds to add: round {item['number']} would end at {item['end']}, before now")


def append_rounds(platform: Platform, *, organiser, slug: str, doc, now: datetime | None = None) -> dict:
    """Add the rounds of `doc` (a mapping: rounds, and optionally kpi and rewards) after the last
    round of `slug`; logs the addition (signed) and returns the new schedule."""
    now = now or utcnow()
    with platform.transaction() as session:
        advisory_lock(session, f"rounds/{slug}")
        challenge = _owned(session, organiser, slug)
        last = session.scalars(
            select(Round).where(Round.challenge_id == challenge.id).order_by(Round.number.desc()).limit(1)
        ).one()
        parsed = _parse(doc, challenge, last)
        _settle_start(parsed, last=last, now=now)
        entry = publiclog.append(platform, session, kind="rounds.add", challenge=slug, data=parsed)
        add_rounds(session, challenge=challenge, added=parsed)
        audit.record(
            session,
            actor=organiser,
            action="rounds.add",
            target=f"challenge:{slug}",
            detail={"rounds": [r["number"] for r in parsed["rounds"]], "log_seq": entry["body"]["seq"]},
        )
    added = {r["number"] for r in parsed["rounds"]}
    schedule = list_rounds(platform, slug=slug)
    return {
        **schedule,
        "added": [r for r in schedule["rounds"] if r["number"] in added],
        "log_entry": {"seq": entry["body"]["seq"], "leaf_hash": entry["leaf_hash"], "signature": entry["signature"]},
    }
