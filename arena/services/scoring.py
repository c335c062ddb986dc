"""An organiser's scoring container, pinned on its challenge: the image (uploaded like a team's,
by digest) and `arena challenge set-scorer`. Running it on a job is the evaluation's part
(arena/evaluation/scorer.py, container protocol v3).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from arena.errors import BadRequest
from arena.models import Image, Upload
from arena.runtime import Platform
from arena.services import audit, publiclog, tenancy

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


# -- the image ------------------------------------------------------------------------------------
def pinned_image(session, *, organiser_id: int, image_digest: object) -> Image:
    """A scorer image this organiser uploaded (through the resumable uploads), by digest."""
    if not isinstance(image_digest, str) or not DIGEST_RE.fullmatch(image_digest):
        raise BadRequest(
            'send {"image_digest": "sha256:…"}: the digest (sha256: and 64 hex digits) of a scorer image you uploaded'
        )
    uploaded = session.scalar(
        select(Upload.id).where(Upload.organiser_id == organiser_id, Upload.image_digest == image_digest).limit(1)
    )
    image = session.get(Image, image_digest)
    if uploaded is None or image is None:
        raise BadRequest(
            "no scorer image with this digest was uploaded by you; upload it first "
            "(`arena challenge set-scorer` does both)"
        )
    return image


def pin(scorer: dict, image: Image) -> dict:
    return {**scorer, "image_digest": image.digest, "image_id": image.image_id}


def set_scorer(platform: Platform, *, organiser_id: int, slug: str, image_digest: object, actor=None) -> dict:
    """Pin a new scorer image for a challenge that has a scorer; logged, so `arena verify`
    knows which scorer produced each later result."""
    with platform.transaction() as session:
        challenge = tenancy.run_challenge(
            session, who=tenancy.acting(actor, organiser_id), slug=slug, what="set its scorer"
        )
        if challenge.scorer is None:
            raise BadRequest(
                f"challenge {slug!r} is scored by the built-in metric {challenge.metric}; "
                "a scorer is declared in challenge.yaml when the challenge is created"
            )
        image = pinned_image(session, organiser_id=organiser_id, image_digest=image_digest)
        challenge.scorer = pin(challenge.scorer, image)
        audit.record(
            session,
            actor=actor,
            action="challenge.set_scorer",
            target=f"challenge:{slug}",
            detail={"image_digest": image.digest},
        )
        publiclog.append(
            platform,
            session,
            kind="challenge.scorer",
            challenge=slug,
            data={"scorer_image": image.digest, "aggregation": challenge.scorer["aggregation"]},
        )
        return {"slug": slug, "scorer_image": image.digest}
