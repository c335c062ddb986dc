from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Response, request, send_file

from arena.api._auth import platform, principal, require, scratch_dir
from arena.api._body import parse_body
from arena.api._multipart import receive_parts
from arena.api._query import or_none, parse_query
from arena.api.schemas.challenges import AddOrganiserBody, DecideRegistrationBody, RevealBody, SetScorerBody
from arena.api.schemas.params import KindQuery, ScorerDigestQuery, SubmitQuery, VersionQuery
from arena.api.schemas.submissions import SubmitBody
from arena.errors import NotFound
from arena.services import (
    assets,
    challenges,
    commitments,
    environments,
    images,
    leaderboard,
    registrations,
    scoring,
    sites,
    submissions,
    tenancy,
)
from arena.services.bundles import ASSET_PARTS, BUNDLE_FILES, SAMPLE_FILES
from arena.streams import tar_chunks, tar_length

bp = Blueprint("api_challenges", __name__, url_prefix="/api/challenges")
ALLOWED_PARTS = set(BUNDLE_FILES) | set(SAMPLE_FILES) | set(ASSET_PARTS)
VERSION_PARTS = {"inputs.jsonl", "labels.jsonl", "assets.tar"}


@bp.get("")
def index():
    return {"challenges": challenges.list_challenges(platform())}


def _save_parts(target: Path, allowed: set[str] = ALLOWED_PARTS) -> None:
    """The upload's file parts, streamed into `target` as they arrive (assets tars unpacked)."""
    receive_parts(request.stream, request.content_type, folder=target, allowed=allowed)


@bp.post("")
@require("organiser")
def create():
    request.max_content_length = platform().settings.max_bundle_bytes
    scorer_digest = or_none(parse_query(ScorerDigestQuery).scorer_digest)  # refused before the upload is read
    folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=scratch_dir()))
    try:
        _save_parts(folder)
        made = challenges.create_challenge(
            platform(),
            organiser_id=principal().id,
            bundle_dir=folder,
            actor=principal(),
            scorer_digest=scorer_digest,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "slug": made.slug,
        "hidden_set": made.hidden_set_id,
        "n_items": made.n_items,
        "n_sample_items": made.n_sample_items,
        "root": made.root,
        "n_assets": made.n_assets,
        "n_sample_assets": made.n_sample_assets,
    }, 201


@bp.put("/<slug>/scorer")
@require("organiser")
def set_scorer(slug: str):
    """Pin a new scorer image (JSON {"image_digest": …}, uploaded through /api/uploads first)."""
    digest = parse_body(SetScorerBody).image_digest  # looked up once the caller is known to run the challenge
    return scoring.set_scorer(
        platform(), organiser_id=principal().id, slug=slug, image_digest=digest, actor=principal()
    )


@bp.post("/<slug>/versions")
@require("organiser", "administrator")
def add_version(slug: str):
    """A new hidden-set version: multipart inputs.jsonl and labels.jsonl (and assets.tar)."""
    challenges.check_owner(platform(), actor=principal(), slug=slug)  # before the upload
    request.max_content_length = platform().settings.max_bundle_bytes
    folder = Path(tempfile.mkdtemp(prefix="version-", dir=scratch_dir()))
    try:
        _save_parts(folder, allowed=VERSION_PARTS)
        made = challenges.add_version(platform(), slug=slug, folder=folder, actor=principal())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return made, 201


@bp.post("/<slug>/reveal")
@require("organiser", "administrator")
def reveal(slug: str):
    """Publish hidden items with their salts: {"all": true} or {"ids": [...]}, optional "version"."""
    body = parse_body(RevealBody)  # ids, or all (and no ids): None
    return commitments.reveal(platform(), slug=slug, ids=body.ids, version=body.version, actor=principal()), 201


@bp.get("/<slug>/reveal")
def revealed(slug: str):
    """The published reveal of a hidden-set version (?version=N, default the newest revealed)."""
    version = or_none(parse_query(VersionQuery).version)
    path = commitments.reveal_file(platform(), slug=slug, version=version)
    return send_file(path, mimetype="application/json")


@bp.get("/<slug>")
def show(slug: str):
    return challenges.describe_challenge(platform(), slug=slug)


@bp.get("/<slug>/leaderboard")
def board(slug: str):
    return leaderboard.leaderboard(platform(), slug=slug)


@bp.get("/<slug>/leaderboard.csv")
def board_csv(slug: str):
    body = leaderboard.as_csv(leaderboard.leaderboard(platform(), slug=slug))
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{slug}-leaderboard.csv"'}
    )


@bp.get("/<slug>/teams/<team>/history")
def team_history(slug: str, team: str):
    """A team's released public scores over time (public, from the log)."""
    return leaderboard.history(platform(), slug=slug, team=team)


@bp.get("/<slug>/sample/<name>")
def sample(slug: str, name: str):
    """The public sample set, for teams to debug their containers (assets.tar: its binary assets)."""
    if name not in ("inputs.jsonl", "labels.jsonl", "assets.tar"):
        raise NotFound(
            "the sample set has inputs.jsonl and labels.jsonl, and assets.tar if its items reference binary assets"
        )
    challenges.describe_challenge(platform(), slug=slug)
    if name == "assets.tar":
        entries = assets.sample_entries(platform(), slug)
        if not entries:
            raise NotFound(f"the sample set of {slug!r} has no binary assets")
        return Response(
            tar_chunks(entries), mimetype="application/x-tar", headers={"Content-Length": str(tar_length(entries))}
        )
    path = platform().sample_dir / slug / name
    if not path.is_file():
        raise NotFound(f"challenge {slug!r} has no public sample set")
    return send_file(path, mimetype="application/jsonl")


@bp.post("/<slug>/submissions")
@require("team")
def submit(slug: str):
    """The body is a `docker save` tarball, or JSON {"image_digest": …} to resubmit an image the
    team uploaded before. An Idempotency-Key header makes a retried request return the first
    submission instead of making a second one."""
    team, kind = principal(), parse_query(SubmitQuery).kind
    key = submissions.check_idempotency_key(request.headers.get("Idempotency-Key"))
    if (earlier := submissions.find_replay(platform(), team_id=team.id, key=key)) is not None:
        return earlier, 200
    # Refuse an unknown challenge or a spent quota before reading a large upload.
    submissions.check_quota(platform(), team_id=team.id, slug=slug, kind=kind)
    if request.mimetype == "application/json":
        digest = parse_body(SubmitBody).image_digest
        digest = submissions.image_of_team(platform(), team_id=team.id, image_digest=digest)
    else:
        digest = images.receive_image(platform(), stream=request.stream).digest
    made = submissions.create_submission(
        platform(), team_id=team.id, slug=slug, image_digest=digest, kind=kind, idempotency_key=key, actor=team
    )
    return made, 201


@bp.get("/<slug>/can-submit")
@require("team")
def can_submit(slug: str):
    """The pre-flight before an upload (?kind=hidden|sample): may this team submit now, and if
    not, the reason the submission would be refused with. Cheap: it reads, and changes nothing."""
    kind = parse_query(KindQuery).kind
    return submissions.can_submit(platform(), team_id=principal().id, slug=slug, kind=kind)


@bp.put("/<slug>/environment")
@require("organiser")
def set_environment(slug: str):
    """An agent challenge's environment image: the body is its `docker save` tarball, stored by
    digest like a team's image, and the challenge pinned to that digest."""
    environments.check_owner(platform(), organiser_id=principal().id, slug=slug, actor=principal())  # before the upload
    digest = images.receive_image(platform(), stream=request.stream).digest
    return environments.set_image(
        platform(), organiser_id=principal().id, slug=slug, image_digest=digest, actor=principal()
    )


@bp.post("/<slug>/registration")
@require("team")
def register(slug: str):
    """Take part: approved at once where registration is open, pending approval otherwise."""
    return registrations.register(platform(), team=principal(), slug=slug), 201


@bp.get("/<slug>/registrations")
@require("organiser", "administrator")
def list_registrations(slug: str):
    return {"registrations": registrations.list_registrations(platform(), organiser=principal(), slug=slug)}


@bp.get("/<slug>/queue")
@require("organiser", "administrator")
def queue(slug: str):
    """The challenge's queued and running jobs; a queued job no active site can run says why."""
    return {"jobs": sites.challenge_queue(platform(), organiser=principal(), slug=slug)}


@bp.post("/<slug>/registrations/<int(max=2147483647):team_id>")
@require("organiser", "administrator")
def decide(slug: str, team_id: int):
    """{"approve": true} or {"approve": false}: the organiser's decision on a team."""
    approve = parse_body(DecideRegistrationBody).approve
    return registrations.decide(platform(), organiser=principal(), slug=slug, team_id=team_id, approve=approve)


@bp.get("/<slug>/organisers")
@require("organiser", "administrator")
def organisers(slug: str):
    """The challenge's owner and co-organisers."""
    return tenancy.list_organisers(platform(), who=principal(), slug=slug)


@bp.post("/<slug>/organisers")
@require("organiser", "administrator")
def add_organiser(slug: str):
    """{"organiser": "<name>"}: the owner adds a co-organiser (audited)."""
    name = parse_body(AddOrganiserBody).organiser
    return tenancy.add_organiser(platform(), who=principal(), slug=slug, name=name), 201


@bp.delete("/<slug>/organisers/<int(max=2147483647):organiser_id>")
@require("organiser", "administrator")
def remove_organiser(slug: str, organiser_id: int):
    """The owner removes a co-organiser (audited)."""
    return tenancy.remove_organiser(platform(), who=principal(), slug=slug, organiser_id=organiser_id)
