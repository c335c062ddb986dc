from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, request, send_file

from arena.api._auth import platform, principal, require, scratch_dir
from arena.errors import BadRequest, NotFound
from arena.services import challenges, images, leaderboard, submissions
from arena.services.bundles import BUNDLE_FILES, SAMPLE_FILES

bp = Blueprint("api_challenges", __name__, url_prefix="/api/challenges")
ALLOWED_PARTS = set(BUNDLE_FILES) | set(SAMPLE_FILES)


@bp.get("")
def index():
    return {"challenges": challenges.list_challenges(platform())}


def _save_parts(target: Path) -> None:
    unknown = sorted(set(request.files) - ALLOWED_PARTS)
    if unknown:
        raise BadRequest(f"unexpected bundle file(s) {', '.join(unknown)}; a bundle holds "
                         f"{', '.join(sorted(ALLOWED_PARTS))}")
    for name, storage in request.files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.save(path)


@bp.post("")
@require("organiser")
def create():
    request.max_content_length = platform().settings.max_bundle_bytes
    folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=scratch_dir()))
    try:
        _save_parts(folder)
        made = challenges.create_challenge(platform(), organiser_id=principal().id, bundle_dir=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"slug": made.slug, "hidden_set": made.hidden_set_id, "n_items": made.n_items,
            "n_sample_items": made.n_sample_items}, 201


@bp.get("/<slug>")
def show(slug: str):
    return challenges.describe_challenge(platform(), slug=slug)


@bp.get("/<slug>/leaderboard")
def board(slug: str):
    return leaderboard.leaderboard(platform(), slug=slug)


@bp.get("/<slug>/sample/<name>")
def sample(slug: str, name: str):
    """The public sample set, for teams to debug their containers."""
    if name not in ("inputs.jsonl", "labels.jsonl"):
        raise NotFound("the sample set has inputs.jsonl and labels.jsonl")
    challenges.describe_challenge(platform(), slug=slug)
    path = platform().sample_dir / slug / name
    if not path.is_file():
        raise NotFound(f"challenge {slug!r} has no public sample set")
    return send_file(path, mimetype="application/jsonl")


@bp.post("/<slug>/submissions")
@require("team")
def submit(slug: str):
    # Refuse an unknown challenge or a spent quota before reading a large upload.
    submissions.check_quota(platform(), team_id=principal().id, slug=slug)
    image = images.receive_image(platform(), stream=request.stream)
    made = submissions.create_submission(
        platform(), team_id=principal().id, slug=slug, image_digest=image.digest
    )
    return made, 201
