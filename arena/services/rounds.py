"""Rounds: when submissions count, and what happens when a round closes.

A hidden submission belongs to the round open when it arrives. A round stops taking submissions
at its end (or earlier, when its organiser closes it early, which the report records); it closes
once every submission it took has finished, so no team loses a run that was still in the queue.
Closing computes the final ranking on the private split from each team's counted submission,
the KPI verdicts, the awards and the eliminations (payout.decide), and logs the signed report.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError

from arena.domain.rules import parse_time
from arena.domain.tables import euros, report_csv  # noqa: F401 - the API and pages use them from here
from arena.errors import BadRequest, Conflict, NotFound
from arena.models import Challenge, Registration, Round, Submission, Team
from arena.runtime import Platform
from arena.services import audit, publiclog, round_evidence
from arena.services.lookups import current_hidden_set, get_challenge
from arena.services.tenancy import run_challenge
from arena.timeutil import iso, utcnow

log = logging.getLogger(__name__)
PENDING = ("queued", "running")


def check_schedule(rules: dict | None, *, now: datetime) -> None:
    """A new challenge's rounds must not have ended already."""
    for item in (rules or {}).get("rounds", []):
        if parse_time(item["end"], "end") <= now:
            raise BadRequest(
                f"challenge bundle: rounds[{item['number']}] ended at {item['end']}, before "
                "the challenge was created; move its end into the future"
            )


def add_rounds(session, *, challenge: Challenge, added: dict | None = None) -> None:
    """The challenge's scheduled rounds: those its rules declare, or (`added`, a parsed
    `rounds.add`) the ones appended later, each keeping the rules it was added with."""
    for item in (added or challenge.rules or {}).get("rounds", []):
        session.add(
            Round(
                challenge_id=challenge.id,
                number=item["number"],
                name=item["name"],
                starts_at=parse_time(item["start"], "start") if item["start"] else None,
                ends_at=parse_time(item["end"], "end"),
                pool_cents=item["pool_cents"],
                pool_gpu_minutes=item["pool_gpu_minutes"],
                status="scheduled",
                rules=added,
            )
        )


def rules_of(challenge: Challenge, item: Round) -> dict:
    """The rules that decide a round: those logged with its addition (rounds added to a running
    challenge), else those logged when the challenge opened."""
    rules = item.rules if item.rules is not None else challenge.rules
    assert rules is not None  # a challenge with rounds has rules
    return rules


def _rounds(session, challenge_id: int) -> list[Round]:
    return list(session.scalars(select(Round).where(Round.challenge_id == challenge_id).order_by(Round.number)))


def stops_at(item: Round) -> datetime:
    """When the round stopped (or stops) taking submissions."""
    return min(item.ends_at, item.stopped_at) if item.stopped_at else item.ends_at


def opens_at(rounds: list[Round], index: int) -> datetime:
    item = rounds[index]
    return item.starts_at if item.starts_at is not None else stops_at(rounds[index - 1])


def _open_round(rounds: list[Round], now: datetime) -> Round | None:
    for index, item in enumerate(rounds):
        if item.status == "scheduled" and opens_at(rounds, index) <= now < stops_at(item):
            return item
    return None


def intake_round(session, *, challenge: Challenge, now: datetime) -> Round | None:
    """The round a hidden submission arriving now belongs to; refuses one when none is open."""
    if challenge.rules is None:
        return None
    rounds = _rounds(session, challenge.id)
    found = _open_round(rounds, now)
    if found is None:
        upcoming = [
            (opens_at(rounds, i), r)
            for i, r in enumerate(rounds)
            if r.status == "scheduled" and opens_at(rounds, i) > now
        ]
        when = f"; {upcoming[0][1].name} opens at {iso(upcoming[0][0])}" if upcoming else "; its last round is over"
        raise Conflict(
            f"no round of {challenge.slug} is open now{when}. Runs on the public sample set "
            "(`arena submit --sample`) are open at any time"
        )
    current = current_hidden_set(session, challenge.id).id
    if found.hidden_set_id is None:
        found.hidden_set_id = current
    return found


def check_version_change(session, *, challenge: Challenge) -> None:
    """A round ranks submissions on one hidden-set version: no new version while one is under way."""
    for item in _rounds(session, challenge.id):
        if item.status != "closed" and item.hidden_set_id is not None:
            raise Conflict(
                f"{item.name} of {challenge.slug} has submissions on the current hidden set and "
                "has not closed; add the new version once it has closed"
            )


def _owned(session, organiser, slug: str) -> Challenge:
    challenge = run_challenge(session, who=organiser, slug=slug, what="close its rounds or re-admit its teams")
    if challenge.rules is None:
        raise BadRequest(f"{slug} has no rounds: its challenge.yaml declares none")
    return challenge


def _closable(session, challenge: Challenge, now: datetime) -> Round:
    """The round an organiser's close applies to: the earliest one past its end and not closed,
    else the open one."""
    rounds = _rounds(session, challenge.id)
    due = [r for r in rounds if r.status != "closed" and stops_at(r) <= now] or [
        r for r in [_open_round(rounds, now)] if r is not None
    ]
    if not due:
        raise Conflict(f"no round of {challenge.slug} is open or waiting to close")
    return due[0]


def close_round(platform: Platform, *, organiser, slug: str, early: bool = False, now: datetime | None = None) -> dict:
    """Stop the current round taking submissions (early, if it has not ended, only when asked:
    the report records it), then close it as soon as its last submission has finished."""
    now = now or utcnow()
    with platform.transaction() as session:
        challenge = _owned(session, organiser, slug)
        item = _closable(session, challenge, now)
        if item.status == "scheduled" and stops_at(item) > now:
            if not early:
                raise BadRequest(
                    f"{item.name} ends at {iso(item.ends_at)} and closes itself then; to close "
                    "it now, say so with --early (the report records the early close)"
                )
            item.stopped_at = now
        item.status = "closing"
        audit.record(
            session,
            actor=organiser,
            action="round.close",
            target=f"challenge:{slug}",
            detail={"round": item.number, "early": item.stopped_at is not None},
        )
        number = item.number
    finalize_due(platform, now=now)
    return round_view(platform, slug=slug, number=number)


def preview_close(platform: Platform, *, organiser, slug: str, now: datetime | None = None) -> dict:
    """What closing the current round now would decide (ranking, verdicts, awards), without
    closing it or writing anything: for the organiser to check before confirming."""
    now = now or utcnow()
    with platform.sessions() as session:
        challenge = _owned(session, organiser, slug)
        item = _closable(session, challenge, now)
        pending = session.scalar(
            select(func.count(Submission.id)).where(Submission.round_id == item.id, Submission.status.in_(PENDING))
        )
        report = _report(session, challenge=challenge, item=item, now=now)
        session.rollback()  # nothing of the preview is kept
        return {"report": report, "pending": pending, "early": item.status == "scheduled" and stops_at(item) > now}


def finalize_due(platform: Platform, *, now: datetime | None = None) -> list[tuple[str, int]]:
    """Close every round that has stopped taking submissions and has none left to finish."""
    now = now or utcnow()
    with platform.sessions() as session:
        candidates = [
            (r.id, r.challenge_id)
            for r in session.scalars(
                select(Round).where(Round.status != "closed").order_by(Round.challenge_id, Round.number)
            )
            if r.status == "closing" or stops_at(r) <= now
        ]
    closed = []
    for round_id, _challenge_id in candidates:
        try:
            done = _finalize(platform, round_id=round_id, now=now)
        except (_ClosedMeanwhile, IntegrityError):
            continue  # another closer (a worker, the organiser's request) closed it first
        if done:
            closed.append(done)
    return closed


class _ClosedMeanwhile(Exception):
    """The round was closed by another transaction while this one computed its report."""


def _finalize(platform: Platform, *, round_id: int, now: datetime) -> tuple[str, int] | None:
    with platform.transaction() as session:
        item = session.scalars(select(Round).where(Round.id == round_id).with_for_update()).one()
        if item.status == "closed":
            return None
        earlier_open = session.scalar(
            select(Round.id).where(
                Round.challenge_id == item.challenge_id, Round.number < item.number, Round.status != "closed"
            )
        )
        pending = session.scalar(
            select(Submission.id).where(Submission.round_id == item.id, Submission.status.in_(PENDING)).limit(1)
        )
        if pending or earlier_open:
            item.status = "closing"
            return None
        challenge = session.get_one(Challenge, item.challenge_id)
        report = _report(session, challenge=challenge, item=item, now=now)
        entry = publiclog.append(platform, session, kind="round.report", challenge=challenge.slug, data=report)
        # Closed only if still unclosed: SQLite ignores FOR UPDATE, so two closers (the worker and a
        # request) may both get here; the second finds it closed and rolls back its log entry.
        closing = cast(
            CursorResult,
            session.execute(  # an UPDATE's result
                update(Round)
                .where(Round.id == item.id, Round.status != "closed")
                .values(status="closed", closed_at=now, report=report, log_seq=entry["body"]["seq"])
            ),
        )
        if closing.rowcount != 1:
            raise _ClosedMeanwhile
        session.refresh(item)
        _apply_misses(session, challenge=challenge, standings=report["standings"])
        audit.record(
            session,
            actor=None,
            action="round.closed",
            target=f"challenge:{challenge.slug}",
            detail={
                "round": item.number,
                "paid_cents": report["totals"]["cents"],
                "paid_gpu_minutes": report["totals"]["gpu_minutes"],
            },
        )
        log.info("closed %s round %d", challenge.slug, item.number)
        return challenge.slug, item.number


def _apply_misses(session, *, challenge: Challenge, standings: list[dict]) -> None:
    teams = {t.name: t.id for t in session.scalars(select(Team).where(Team.name.in_([s["team"] for s in standings])))}
    for standing in standings:
        row = session.get(Registration, (challenge.id, teams[standing["team"]]))
        if row is None:
            continue
        row.kpi_misses = standing["misses"]
        if standing["eliminated"] and row.status == "approved":
            row.status, row.decided_at = "eliminated", utcnow()
            audit.record(
                session,
                actor=None,
                action="registration.eliminated",
                target=f"challenge:{challenge.slug}",
                detail={"team": standing["team"], "misses": standing["misses"]},
            )


def _report(session, *, challenge: Challenge, item: Round, now: datetime) -> dict:
    rounds = _rounds(session, challenge.id)
    return round_evidence.report(
        session,
        challenge=challenge,
        item=item,
        rules=rules_of(challenge, item),
        opened_at=opens_at(rounds, rounds.index(item)),
        stopped_at=stops_at(item),
        now=now,
    )


# --- reading ----------------------------------------------------------------------------------


def _summary(rounds: list[Round], index: int, now: datetime) -> dict:
    item = rounds[index]
    opened = opens_at(rounds, index)
    state = item.status
    if state == "scheduled":
        state = "open" if opened <= now < stops_at(item) else ("upcoming" if now < opened else "closing")
    return {
        "number": item.number,
        "name": item.name,
        "status": state,
        "opens_at": iso(opened),
        "ends_at": iso(item.ends_at),
        "closed_at": iso(item.closed_at),
        "stopped_at": iso(item.stopped_at),
        "stopped_early": item.stopped_at is not None and item.stopped_at < item.ends_at,
        "pool_cents": item.pool_cents,
        "pool_gpu_minutes": item.pool_gpu_minutes,
        "paid_cents": item.report["totals"]["cents"] if item.report else None,
        "paid_gpu_minutes": item.report["totals"]["gpu_minutes"] if item.report else None,
        "added": item.rules is not None,
    }


def list_rounds(platform: Platform, *, slug: str) -> dict:
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        rounds = _rounds(session, challenge.id)
        now = utcnow()
        summaries = [_summary(rounds, i, now) for i in range(len(rounds))]
        return {
            "challenge": slug,
            "rules": _rules_now(challenge, rounds, summaries),
            "opening_rules": challenge.rules,
            "rounds": summaries,
        }


def _rules_now(challenge: Challenge, rounds: list[Round], summaries: list[dict]) -> dict | None:
    """The rules in force now: those of the open round, else of the next one, else of the last."""
    for wanted in ("open", "upcoming", "closing"):
        for item, summary in zip(rounds, summaries, strict=False):
            if summary["status"] == wanted:
                return rules_of(challenge, item)
    return rules_of(challenge, rounds[-1]) if rounds else challenge.rules


def round_view(platform: Platform, *, slug: str, number: int) -> dict:
    found = list_rounds(platform, slug=slug)
    for item in found["rounds"]:
        if item["number"] == number:
            return {"challenge": slug, **item}
    raise NotFound(f"{slug} has no round {number}")


def get_report(platform: Platform, *, slug: str, number: int | None = None) -> dict:
    """A closed round's report, as logged, with the log entry that signs it; the latest by default."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        closed = [r for r in _rounds(session, challenge.id) if r.status == "closed"]
        if number is not None:
            closed = [r for r in closed if r.number == number]
        if not closed:
            which = (
                f"round {number} of {slug} has not closed yet"
                if number is not None
                else f"no round of {slug} has closed yet"
            )
            raise NotFound(f"{which}; a round's report is published when it closes")
        item = closed[-1]
        seq = item.log_seq
        assert seq is not None  # set when the round closed
    entry = publiclog.entries(platform, start=seq, limit=1)[0]
    return {
        "report": entry["body"]["data"],
        "log_entry": {"seq": seq, "leaf_hash": entry["leaf_hash"], "signature": entry["signature"]},
    }


def readmit(platform: Platform, *, organiser, slug: str, team: str) -> dict:
    """An eliminated team may take part again; its count of missed KPIs starts afresh."""
    with platform.transaction() as session:
        challenge = _owned(session, organiser, slug)
        found = session.scalar(select(Team).where(Team.name == team))
        row = session.get(Registration, (challenge.id, found.id)) if found else None
        if row is None or row.status != "eliminated":
            raise Conflict(f"team {team!r} is not eliminated from {slug}")
        row.status, row.kpi_misses, row.decided_at = "approved", 0, utcnow()
        audit.record(
            session, actor=organiser, action="registration.readmit", target=f"challenge:{slug}", detail={"team": team}
        )
        return {"challenge": slug, "team": team, "status": row.status}
