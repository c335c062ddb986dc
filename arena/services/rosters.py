"""What a team sees of its own runs, and what an organiser sees of the teams: read-only views."""

from __future__ import annotations

from sqlalchemy import select

from arena.models import Challenge, Registration, Team
from arena.runtime import Platform
from arena.services import dashboards
from arena.services.accounts import Principal
from arena.services.submissions import list_submissions
from arena.timeutil import iso
from arena.units import percent


def team_submissions(platform: Platform, *, team: Principal, slug: str | None = None) -> dict:
    """A team's runs (newest first, each with its receipt's log entry) and its quota left today."""
    runs = list_submissions(platform, principal=team, slug=slug)
    found = dashboards.receipts(platform, submission_ids=[r["id"] for r in runs if r["kind"] == "hidden"])
    for run in runs:
        receipt = found.get(run["id"])
        run["receipt_entry"] = {"seq": receipt["seq"], "leaf_hash": receipt["leaf_hash"]} if receipt else None
    quotas = [q for q in dashboards.quotas(platform, team_id=team.id) if slug is None or q["challenge"] == slug]
    return {"team": team.name, "submissions": runs, "quotas": quotas}


def _factories(team: Team) -> list[dict]:
    return [
        {"factory": m.factory.name, "share": m.share, "percent": percent(m.share)}
        for m in sorted(team.members, key=lambda m: m.factory.name)
    ]


def list_teams(platform: Platform, *, organiser: Principal) -> list[dict]:
    """Every team (organisers make them), with its factories and shares, and where it stands in
    each of this organiser's own challenges."""
    with platform.sessions() as session:
        rows = session.execute(
            select(Registration, Challenge.slug)
            .join(Challenge, Challenge.id == Registration.challenge_id)
            .where(Challenge.organiser_id == organiser.id)
        ).all()
        taking_part: dict[int, list[dict]] = {}
        for row, slug in rows:
            taking_part.setdefault(row.team_id, []).append(
                {"challenge": slug, "status": row.status, "kpi_misses": row.kpi_misses}
            )
        return [
            {
                "id": t.id,
                "team": t.name,
                "created_at": iso(t.created_at),
                "factories": _factories(t),
                "registrations": sorted(taking_part.get(t.id, []), key=lambda r: r["challenge"]),
            }
            for t in session.scalars(select(Team).order_by(Team.name))
        ]
