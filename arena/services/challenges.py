"""Creating challenges from bundles, and reading them."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arena.errors import Conflict, NotFound
from arena.models import Challenge, HiddenSet, Submission
from arena.platform import Platform
from arena.services.bundles import Bundle, load_bundle


@dataclass(frozen=True)
class CreatedChallenge:
    slug: str
    hidden_set_id: str
    n_items: int
    n_sample_items: int


def _slug_taken(platform: Platform, slug: str) -> bool:
    with platform.sessions() as session:
        return session.scalar(select(Challenge.id).where(Challenge.slug == slug)) is not None


def _store_files(platform: Platform, bundle: Bundle, set_id: str):
    data_key = platform.hidden_sets.new_data_key()
    for role in ("inputs", "labels"):
        platform.hidden_sets.put(
            set_id=set_id, role=role, source=bundle.root / f"{role}.jsonl", data_key=data_key
        )
    if bundle.has_sample:
        target = platform.sample_dir / bundle.slug
        target.mkdir(parents=True, exist_ok=True)
        for name in ("inputs.jsonl", "labels.jsonl"):
            shutil.copyfile(bundle.root / "sample" / name, target / name)
    return data_key


def _discard_files(platform: Platform, bundle: Bundle, set_id: str) -> None:
    platform.hidden_sets.remove_set(set_id)
    shutil.rmtree(platform.sample_dir / bundle.slug, ignore_errors=True)


def create_challenge(platform: Platform, *, organiser_id: int, bundle_dir) -> CreatedChallenge:
    """Validate the bundle, encrypt its hidden set, and record it: all of it, or nothing."""
    bundle = load_bundle(bundle_dir)
    if _slug_taken(platform, bundle.slug):
        raise Conflict(f"a challenge with slug {bundle.slug!r} exists already; choose another slug")
    set_id = "hs-" + secrets.token_hex(8)
    try:
        data_key = _store_files(platform, bundle, set_id)
        with platform.transaction() as session:
            challenge = Challenge(
                slug=bundle.slug, title=bundle.title, description=bundle.description,
                metric=bundle.metric, limits=bundle.limits, daily_quota=bundle.daily_quota,
                organiser_id=organiser_id,
            )
            session.add(challenge)
            session.flush()
            session.add(HiddenSet(
                id=set_id, challenge_id=challenge.id, version=1, n_items=bundle.n_items,
                data_key_id=data_key.id, master_key_id=data_key.master_key_id,
                wrapped_key=data_key.wrapped, has_sample=bundle.has_sample,
            ))
    except IntegrityError:
        _discard_files(platform, bundle, set_id)
        raise Conflict(f"a challenge with slug {bundle.slug!r} exists already") from None
    except BaseException:
        _discard_files(platform, bundle, set_id)
        raise
    return CreatedChallenge(bundle.slug, set_id, bundle.n_items, bundle.n_sample_items)


def get_challenge(session, slug: str) -> Challenge:
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None:
        raise NotFound(f"no challenge {slug!r}; `arena challenges` or / lists them")
    return challenge


def current_hidden_set(session, challenge_id: int) -> HiddenSet:
    return session.scalars(
        select(HiddenSet).where(HiddenSet.challenge_id == challenge_id)
        .order_by(HiddenSet.version.desc()).limit(1)
    ).one()


def challenge_summary(challenge: Challenge, n_teams: int) -> dict:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "description": challenge.description,
        "metric": challenge.metric,
        "limits": challenge.limits,
        "daily_quota": challenge.daily_quota,
        "teams": n_teams,
    }


def list_challenges(platform: Platform) -> list[dict]:
    with platform.sessions() as session:
        teams = dict(session.execute(
            select(Submission.challenge_id, func.count(func.distinct(Submission.team_id)))
            .group_by(Submission.challenge_id)
        ).all())
        rows = session.scalars(select(Challenge).order_by(Challenge.created_at.desc())).all()
        return [challenge_summary(c, teams.get(c.id, 0)) for c in rows]


def describe_challenge(platform: Platform, *, slug: str) -> dict:
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        hidden = current_hidden_set(session, challenge.id)
        n_teams = session.scalar(
            select(func.count(func.distinct(Submission.team_id)))
            .where(Submission.challenge_id == challenge.id)
        )
        summary = challenge_summary(challenge, n_teams or 0)
        summary.update(hidden_set_version=hidden.version, n_items=hidden.n_items,
                       has_sample=hidden.has_sample)
        return summary
