"""Creating challenges from bundles, and reading them."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, union
from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, Conflict, Forbidden
from arena.files import private_copy, private_folder
from arena.models import Challenge, HiddenSet, Registration, Submission
from arena.runtime import Platform
from arena.services import assets, audit, commitments, permissions, publiclog, scoring, tenancy
from arena.services.bundles import Bundle, load_bundle, load_version_files
from arena.services.environments import public_view
from arena.services.lookups import current_hidden_set, get_challenge
from arena.services.names import refuse_confusable
from arena.services.rounds import add_rounds, check_schedule, check_version_change
from arena.services.scorers import challenge_metric, metric_of
from arena.timeutil import utcnow
from hidden_sets import DataKey


@dataclass(frozen=True)
class CreatedChallenge:
    slug: str
    hidden_set_id: str
    n_items: int
    n_sample_items: int
    root: str
    n_assets: int = 0
    n_sample_assets: int = 0


def _slug_taken(platform: Platform, slug: str) -> bool:
    with platform.sessions() as session:
        return session.scalar(select(Challenge.id).where(Challenge.slug == slug)) is not None


def _ingest_set(platform: Platform, *, folder: Path, set_id: str, asset_names: list[str]) -> tuple[DataKey, str]:
    """Encrypt inputs, labels and assets, salt and commit every item; returns (data key, root)."""
    scratch = platform.settings.scratch_dir / f"ingest-{set_id}"
    scratch.mkdir(parents=True, mode=0o700)
    try:
        data_key = platform.hidden_sets.new_data_key()
        for role in ("inputs", "labels"):
            platform.hidden_sets.put(set_id=set_id, role=role, source=folder / f"{role}.jsonl", data_key=data_key)
        hashes = (
            assets.ingest(platform, folder=folder, set_id=set_id, data_key=data_key, names=asset_names, scratch=scratch)
            if asset_names
            else {}
        )
        root, _n = commitments.commit_files(
            platform,
            inputs=folder / "inputs.jsonl",
            labels=folder / "labels.jsonl",
            set_id=set_id,
            data_key=data_key,
            scratch=scratch,
            asset_hashes=hashes,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return data_key, root


def _hidden_set_row(
    *,
    set_id: str,
    challenge_id: int,
    version: int,
    n_items: int,
    data_key: DataKey,
    has_sample: bool,
    asset_sizes: dict[str, int],
) -> HiddenSet:
    return HiddenSet(
        id=set_id,
        challenge_id=challenge_id,
        version=version,
        n_items=n_items,
        data_key_id=data_key.id,
        master_key_id=data_key.master_key_id,
        wrapped_key=data_key.wrapped,
        has_sample=has_sample,
        created_at=utcnow(),
        n_assets=len(asset_sizes),
        assets_bytes=sum(asset_sizes.values()),
    )


def _copy_sample(platform: Platform, bundle: Bundle) -> None:
    if bundle.has_sample:
        target = private_folder(platform.sample_dir / bundle.slug)
        for name in ("inputs.jsonl", "labels.jsonl"):
            private_copy(bundle.root / "sample" / name, target / name)
        for name in bundle.sample_assets:
            private_folder((target / name).parent)
            private_copy(bundle.root / "sample" / name, target / name)


def _discard_files(platform: Platform, slug: str | None, set_id: str) -> None:
    platform.hidden_sets.remove_set(set_id)
    if slug:
        shutil.rmtree(platform.sample_dir / slug, ignore_errors=True)


def _pinned_scorer(platform: Platform, bundle: Bundle, organiser_id: int, scorer_digest: str | None) -> dict | None:
    """The bundle's scorer, pinned to an image this organiser uploaded: `scorer_digest`, or the
    digest written as scorer.image."""
    if bundle.scorer is None:
        if scorer_digest:
            raise BadRequest("a scorer image was sent, but challenge.yaml declares no scorer")
        return None
    digest = scorer_digest or bundle.scorer["image"]
    if not scoring.DIGEST_RE.fullmatch(digest):
        raise BadRequest(
            f"upload the scorer image {bundle.scorer['image']!r} first and give its digest "
            "(`arena challenge create` does both)"
        )
    with platform.sessions() as session:
        return scoring.pin(bundle.scorer, scoring.pinned_image(session, organiser_id=organiser_id, image_digest=digest))


def _scorer_entry(scorer: dict) -> dict:
    """What the public log says of a scorer: its image, by digest, and how it aggregates."""
    return {
        "scorer": {
            "image": scorer["image_digest"],
            "aggregation": scorer["aggregation"],
            "range": scorer["range"],
            "secondary": scorer["secondary"],
        }
    }


def create_challenge(
    platform: Platform, *, organiser_id: int, bundle_dir, actor=None, scorer_digest: str | None = None
) -> CreatedChallenge:
    """Validate the bundle, encrypt and commit its hidden set, and record it: all, or nothing. The
    organiser `organiser_id` owns it."""
    bundle = _new_bundle(platform, bundle_dir=bundle_dir, actor=actor)
    scorer = _pinned_scorer(platform, bundle, organiser_id, scorer_digest)
    set_id = "hs-" + secrets.token_hex(8)
    try:
        data_key, root = _ingest_set(platform, folder=bundle.root, set_id=set_id, asset_names=list(bundle.assets))
        _copy_sample(platform, bundle)
        with platform.transaction() as session:
            challenge = _challenge_row(bundle, organiser_id=organiser_id, scorer=scorer)
            session.add(challenge)
            session.flush()
            add_rounds(session, challenge=challenge)
            _record_first_version(
                platform, session, bundle, challenge_id=challenge.id, set_id=set_id, data_key=data_key, root=root
            )
            audit.record(
                session,
                actor=actor,
                action="challenge.create",
                target=f"challenge:{bundle.slug}",
                detail={"hidden_set": set_id, "root": root, "n_items": bundle.n_items},
            )
            _log_opening(platform, session, bundle, scorer=scorer, set_id=set_id, root=root)
    except IntegrityError:
        _discard_files(platform, bundle.slug, set_id)
        raise Conflict(f"a challenge with slug {bundle.slug!r} exists already") from None
    except BaseException:
        _discard_files(platform, bundle.slug, set_id)
        raise
    return CreatedChallenge(
        bundle.slug, set_id, bundle.n_items, bundle.n_sample_items, root, len(bundle.assets), len(bundle.sample_assets)
    )


def _new_bundle(platform: Platform, *, bundle_dir, actor) -> Bundle:
    """The bundle in `bundle_dir`, once `actor` may create challenges and the bundle's schedule,
    slug and title are free to use."""
    if actor is not None and not permissions.may_create_challenge(actor):
        raise Forbidden("challenges are created by organisers")
    bundle = load_bundle(bundle_dir)
    check_schedule(bundle.rules, now=utcnow())
    if _slug_taken(platform, bundle.slug):
        raise Conflict(f"a challenge with slug {bundle.slug!r} exists already; choose another slug")
    with platform.sessions() as session:
        refuse_confusable(session, Challenge.title, bundle.title, "challenge title")
    return bundle


def _challenge_row(bundle: Bundle, *, organiser_id: int, scorer: dict | None) -> Challenge:
    return Challenge(
        slug=bundle.slug,
        title=bundle.title,
        description=bundle.description,
        metric=bundle.metric,
        limits=bundle.limits,
        daily_quota=bundle.daily_quota,
        max_pending=bundle.max_pending,
        registration=bundle.registration,
        count_failures=bundle.count_failures,
        public_fraction=bundle.public_fraction,
        organiser_id=organiser_id,
        rules=bundle.rules,
        secondary_metrics=bundle.secondary_metrics,
        protocol=bundle.protocol,
        scorer=scorer,
        hardware=bundle.hardware,
        environment=bundle.environment,
    )


def _record_first_version(
    platform: Platform, session, bundle: Bundle, *, challenge_id: int, set_id: str, data_key: DataKey, root: str
) -> None:
    """The hidden set's version 1, with its signed commitment."""
    hidden = _hidden_set_row(
        set_id=set_id,
        challenge_id=challenge_id,
        version=1,
        n_items=bundle.n_items,
        data_key=data_key,
        has_sample=bundle.has_sample,
        asset_sizes=bundle.assets,
    )
    commitments.sign_commitment(platform, slug=bundle.slug, hidden=hidden, root=root)
    session.add(hidden)


def _log_opening(platform: Platform, session, bundle: Bundle, *, scorer: dict | None, set_id: str, root: str) -> None:
    """The challenge's opening in the public log: its metric, rules and first hidden-set root."""
    publiclog.append(
        platform,
        session,
        kind="challenge.open",
        challenge=bundle.slug,
        data={
            "title": bundle.title,
            "metric": bundle.metric,
            "hidden_set": set_id,
            "version": 1,
            "n_items": bundle.n_items,
            "root": root,
            "higher_is_better": challenge_metric(metric=bundle.metric, scorer=scorer).higher_is_better,
            "rules": bundle.rules,
            "secondary_metrics": bundle.secondary_metrics,
            "protocol": bundle.protocol,
            "n_assets": len(bundle.assets),
            **(_scorer_entry(scorer) if scorer else {}),
        },
    )


CHANGE_SET = "change its hidden set"


def check_owner(platform: Platform, *, slug: str, organiser_id: int | None = None, actor=None) -> None:
    """Forbidden unless the actor (or the organiser `organiser_id`) runs the challenge."""
    with platform.sessions() as session:
        tenancy.run_challenge(session, who=tenancy.acting(actor, organiser_id), slug=slug, what=CHANGE_SET)


def add_version(platform: Platform, *, slug: str, folder: Path, organiser_id: int | None = None, actor=None) -> dict:
    """A new version of the hidden set (new key, new root); later submissions are scored on it."""
    with platform.sessions() as session:
        challenge = tenancy.run_challenge(session, who=tenancy.acting(actor, organiser_id), slug=slug, what=CHANGE_SET)
        check_version_change(session, challenge=challenge)
        metric, version = metric_of(challenge), current_hidden_set(session, challenge.id).version + 1
        protocol = challenge.protocol
    n_items, asset_sizes = load_version_files(folder, metric, protocol)
    set_id = "hs-" + secrets.token_hex(8)
    try:
        data_key, root = _ingest_set(platform, folder=folder, set_id=set_id, asset_names=list(asset_sizes))
        with platform.transaction() as session:
            challenge = get_challenge(session, slug)
            hidden = _hidden_set_row(
                set_id=set_id,
                challenge_id=challenge.id,
                version=version,
                n_items=n_items,
                data_key=data_key,
                has_sample=current_hidden_set(session, challenge.id).has_sample,
                asset_sizes=asset_sizes,
            )
            commitments.sign_commitment(platform, slug=slug, hidden=hidden, root=root)
            session.add(hidden)
            audit.record(
                session,
                actor=actor,
                action="hidden_set.version",
                target=f"challenge:{slug}",
                detail={"hidden_set": set_id, "version": version, "root": root},
            )
            publiclog.append(
                platform,
                session,
                kind="hidden_set.version",
                challenge=slug,
                data={
                    "hidden_set": set_id,
                    "version": version,
                    "n_items": n_items,
                    "root": root,
                    "n_assets": len(asset_sizes),
                },
            )
    except IntegrityError:
        _discard_files(platform, None, set_id)
        raise Conflict("another new version was added at the same time; try again") from None
    except BaseException:
        _discard_files(platform, None, set_id)
        raise
    return {
        "slug": slug,
        "version": version,
        "hidden_set": set_id,
        "n_items": n_items,
        "root": root,
        "n_assets": len(asset_sizes),
    }


def challenge_summary(challenge: Challenge, n_teams: int) -> dict:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "description": challenge.description,
        "metric": challenge.metric,
        "limits": challenge.limits,
        "daily_quota": challenge.daily_quota,
        "max_pending": challenge.max_pending,
        "registration": challenge.registration,
        "count_failures": challenge.count_failures,
        "public_fraction": challenge.public_fraction,
        "rules": challenge.rules,
        "secondary_metrics": challenge.secondary_metrics or [],
        "protocol": challenge.protocol,
        "higher_is_better": metric_of(challenge).higher_is_better,
        "scorer": _scorer_entry(challenge.scorer)["scorer"] if challenge.scorer else None,
        "platforms": (challenge.hardware or {}).get("platforms") or ["linux/amd64"],
        "gpu_vendors": (challenge.hardware or {}).get("gpu_vendors") or ["nvidia"],
        "environment": public_view(challenge.environment),
        "teams": n_teams,
    }


def _team_counts(session, challenge_id: int | None = None) -> dict[int, int]:
    """Teams taking part in each challenge: registered (approved, or since eliminated) or with a
    submission, counted once each."""
    taking_part = union(
        select(Registration.challenge_id, Registration.team_id).where(
            Registration.status.in_(("approved", "eliminated"))
        ),
        select(Submission.challenge_id, Submission.team_id),
    ).subquery()
    query = select(taking_part.c.challenge_id, func.count()).group_by(taking_part.c.challenge_id)
    if challenge_id is not None:
        query = query.where(taking_part.c.challenge_id == challenge_id)
    return dict(session.execute(query).all())


def list_challenges(platform: Platform) -> list[dict]:
    with platform.sessions() as session:
        teams = _team_counts(session)
        rows = session.scalars(select(Challenge).order_by(Challenge.created_at.desc())).all()
        return [challenge_summary(c, teams.get(c.id, 0)) for c in rows]


def describe_challenge(platform: Platform, *, slug: str) -> dict:
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        hidden = current_hidden_set(session, challenge.id)
        summary = challenge_summary(challenge, _team_counts(session, challenge.id).get(challenge.id, 0))
        summary.update(
            hidden_set_version=hidden.version,
            n_items=hidden.n_items,
            has_sample=hidden.has_sample,
            n_assets=hidden.n_assets,
            n_sample_assets=len(assets.sample_entries(platform, slug)),
            commitment=commitments.commitment_document(platform, hidden),
        )
        return summary
