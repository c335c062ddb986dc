"""Resumable image uploads: declare size and SHA-256, send parts at the offset the server has,
resume after a dropped connection, complete. Memory stays flat; nothing is registered until the
whole tarball is there and its digest matches. A team holds at most `team_max_open_uploads`
uploads not yet submitted, of `team_max_upload_bytes` together; `sweep_stale` removes those
never submitted `upload_keep_hours` after they started (24 by default), image included."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from datetime import timedelta
from typing import IO

from sqlalchemy import and_, delete, exists, or_, select, update

from arena.db import advisory_lock
from arena.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, QuotaExceeded
from arena.files import FILE_MODE, private_folder
from arena.models import Image, Submission, Upload
from arena.runtime import Platform
from arena.services.images import CHUNK, image_path, register_tarball
from arena.timeutil import utcnow

HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_PART_BYTES = 256 * 1024**2
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(upload_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(upload_id, threading.Lock())


def _view(upload: Upload) -> dict:
    return {
        "id": upload.id,
        "size": upload.size,
        "sha256": upload.sha256,
        "received": upload.received,
        "complete": upload.image_digest is not None,
        "image_digest": upload.image_digest,
    }


def part_path(platform: Platform, upload_id: str):
    return platform.upload_dir / f"{upload_id}.part"


def start(platform: Platform, *, team_id: int | None, size: int, sha256: str, organiser_id: int | None = None) -> dict:
    """An upload of a team's image, or (team_id None) of an organiser's scorer image."""
    if not HEX64.fullmatch(sha256):
        raise BadRequest("'sha256' must be the tarball's SHA-256, as 64 lowercase hex digits")
    if size <= 0:
        raise BadRequest("'size' must be the tarball's size in bytes, more than 0")
    if size > platform.settings.max_image_bytes:
        raise PayloadTooLarge(
            f"'size' must be from 1 byte to this server's limit of {platform.settings.max_image_bytes // 1024**2} MiB"
        )
    private_folder(platform.upload_dir)
    upload = Upload(
        id="up-" + secrets.token_hex(10),
        team_id=team_id,
        organiser_id=organiser_id if team_id is None else None,
        size=size,
        sha256=sha256,
        received=0,
    )
    with platform.transaction() as session:
        owner = f"team-{team_id}" if team_id is not None else f"organiser-{organiser_id}"
        advisory_lock(session, f"uploads/{owner}")  # two starts at once cannot both take the last room
        _check_room(platform, session, team_id, size, organiser_id)
        session.add(upload)
        part_path(platform, upload.id).touch(mode=FILE_MODE)
    return _view(upload)


def _open_uploads(session, team_id: int | None, organiser_id: int | None = None):
    """The team's uploads that no submission of the team has used yet (incomplete, or complete
    and never submitted): what the caps count. An organiser's (scorer images): those not yet
    complete."""
    if team_id is None:
        return select(Upload).where(
            Upload.team_id.is_(None), Upload.organiser_id == organiser_id, Upload.image_digest.is_(None)
        )
    submitted = exists().where(Submission.team_id == Upload.team_id, Submission.image_digest == Upload.image_digest)
    return select(Upload).where(Upload.team_id == team_id, ~submitted)


def _check_room(platform: Platform, session, team_id: int | None, size: int, organiser_id: int | None = None) -> None:
    settings = platform.settings
    held = session.scalars(_open_uploads(session, team_id, organiser_id)).all()
    if len(held) >= settings.team_max_open_uploads:
        raise QuotaExceeded(
            f"your team has {len(held)} uploads not yet submitted, the most this server "
            f"keeps; submit them, or wait: unsubmitted uploads are removed "
            f"{settings.upload_keep_hours:g} hours after they start",
            headers=_retry(settings, held),
        )
    if sum(u.size for u in held) + size > settings.team_max_upload_bytes:
        raise QuotaExceeded(
            f"your team's uploads not yet submitted would pass this server's limit of "
            f"{settings.team_max_upload_bytes // 1024**2} MiB together; submit or "
            f"wait for them to be removed ({settings.upload_keep_hours:g} hours after they start)",
            headers=_retry(settings, held),
        )


def _retry(settings, held: list[Upload]) -> dict[str, str]:
    """When the oldest held upload is removed (the sweep runs every minute after that)."""
    oldest = min((u.created_at for u in held), default=utcnow())
    wait = oldest + timedelta(hours=settings.upload_keep_hours) - utcnow()
    return {"Retry-After": str(max(1, int(wait.total_seconds()) + 60))}


def _own(session, team_id: int | None, upload_id: str, organiser_id: int | None = None) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.team_id != team_id or (team_id is None and upload.organiser_id != organiser_id):
        raise NotFound(f"no upload {upload_id!r} of your team; start one with POST /api/uploads")
    return upload


def status(platform: Platform, *, team_id: int | None, upload_id: str, organiser_id: int | None = None) -> dict:
    with platform.sessions() as session:
        return _view(_own(session, team_id, upload_id, organiser_id))


def append(
    platform: Platform,
    *,
    team_id: int | None,
    upload_id: str,
    offset: int,
    stream: IO[bytes],
    organiser_id: int | None = None,
) -> dict:
    """Write the part at `offset`, which must be what the server has received so far."""
    status(platform, team_id=team_id, upload_id=upload_id, organiser_id=organiser_id)  # ownership first
    with _lock(upload_id):
        with platform.sessions() as session:
            upload = _own(session, team_id, upload_id, organiser_id)
        if upload.image_digest is not None:
            raise Conflict("this upload is complete already")
        if offset != upload.received:
            raise Conflict(
                f"the server has {upload.received} bytes of this upload; send from offset {upload.received}",
                headers={"Upload-Offset": str(upload.received)},
            )
        written = _write_part(platform, upload, stream)
        with platform.transaction() as session:
            session.execute(update(Upload).where(Upload.id == upload_id).values(received=offset + written))
        upload.received = offset + written
        return _view(upload)


def _write_part(platform: Platform, upload: Upload, stream: IO[bytes]) -> int:
    room = min(upload.size - upload.received, MAX_PART_BYTES)
    written = 0
    with part_path(platform, upload.id).open("r+b") as out:
        out.seek(upload.received)
        out.truncate()  # drop bytes a dropped request may have left past the recorded offset
        while chunk := stream.read(CHUNK):
            written += len(chunk)
            if written > room:
                raise PayloadTooLarge(
                    f"this part goes past the declared size or the {MAX_PART_BYTES // 1024**2} "
                    "MiB part limit; send smaller parts"
                )
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return written


def complete(platform: Platform, *, team_id: int | None, upload_id: str, organiser_id: int | None = None) -> dict:
    """Check size and digest, check the tarball, store the image once: then it can be submitted."""
    status(platform, team_id=team_id, upload_id=upload_id, organiser_id=organiser_id)  # ownership first
    with _lock(upload_id):
        with platform.sessions() as session:
            upload = _own(session, team_id, upload_id, organiser_id)
        if upload.image_digest is not None:
            return _view(upload)
        if upload.received != upload.size:
            raise Conflict(
                f"the upload has {upload.received} of {upload.size} bytes; send the rest first",
                headers={"Upload-Offset": str(upload.received)},
            )
        path = part_path(platform, upload_id)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != upload.sha256:
            path.unlink(missing_ok=True)
            with platform.transaction() as session:
                session.delete(session.get(Upload, upload_id))
            raise BadRequest("the uploaded bytes do not match the declared SHA-256; start the upload again")
        image = register_tarball(platform, path, hexdigest=upload.sha256, size=upload.size)
        with platform.transaction() as session:
            session.get_one(Upload, upload_id).image_digest = image.digest
        upload.image_digest = image.digest
        return _view(upload)


def sweep_stale(platform: Platform) -> int:
    """Remove uploads that no submission of their team used, `upload_keep_hours` after they
    started: incomplete ones with their partial file, complete ones with their image when nothing
    else uses it; and stray partial files of single (non-resumable) uploads after an hour.
    Several workers may sweep at once: a row or file another one removed first is no error."""
    cutoff = utcnow() - timedelta(hours=platform.settings.upload_keep_hours)
    with platform.transaction() as session:
        stale = session.execute(_unsubmitted_before(cutoff)).all()
        for upload_id, _digest in stale:
            part_path(platform, upload_id).unlink(missing_ok=True)
        if stale:
            session.execute(delete(Upload).where(Upload.id.in_([upload_id for upload_id, _ in stale])))
        for digest in {digest for _, digest in stale if digest is not None}:
            _forget_unused_image(platform, session, digest)
    for path in platform.upload_dir.glob("upload-*.tar"):
        try:
            if path.stat().st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
    return len(stale)


def _unsubmitted_before(cutoff):
    """Teams' uploads no submission used; organisers' (scorer images) only while incomplete: a
    complete one may be pinned as a challenge's scorer, and its image must stay."""
    submitted = exists().where(Submission.team_id == Upload.team_id, Submission.image_digest == Upload.image_digest)
    return select(Upload.id, Upload.image_digest).where(
        Upload.created_at < cutoff,
        or_(
            and_(Upload.team_id.is_not(None), ~submitted), and_(Upload.team_id.is_(None), Upload.image_digest.is_(None))
        ),
    )


def _forget_unused_image(platform: Platform, session, digest: str) -> None:
    """An image that no submission (of any team) and no other upload names is deleted."""
    used = session.scalar(select(Submission.id).where(Submission.image_digest == digest).limit(1))
    held = session.scalar(select(Upload.id).where(Upload.image_digest == digest).limit(1))
    if used is None and held is None:
        session.execute(delete(Image).where(Image.digest == digest))
        image_path(platform, digest).unlink(missing_ok=True)


def uploaded_by(session, *, team_id: int, image_digest: str) -> bool:
    return (
        session.scalar(select(Upload.id).where(Upload.team_id == team_id, Upload.image_digest == image_digest).limit(1))
        is not None
    )
