"""Resumable image uploads: declare size and SHA-256, send parts at the offset the server has,
resume after a dropped connection, complete. Memory stays flat; nothing is registered until the
whole tarball is there and its digest matches."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import select, update

from arena.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from arena.models import Upload
from arena.platform import Platform
from arena.services.images import CHUNK, register_tarball
from arena.timeutil import utcnow

HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_PART_BYTES = 256 * 1024**2
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(upload_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(upload_id, threading.Lock())


def _view(upload: Upload) -> dict:
    return {"id": upload.id, "size": upload.size, "sha256": upload.sha256, "received": upload.received,
            "complete": upload.image_digest is not None, "image_digest": upload.image_digest}


def part_path(platform: Platform, upload_id: str):
    return platform.upload_dir / f"{upload_id}.part"


def start(platform: Platform, *, team_id: int | None, size: int, sha256: str, organiser_id: int | None = None) -> dict:
    """An upload of a team's image, or (team_id None) of an organiser's scorer image."""
    if not HEX64.fullmatch(sha256):
        raise BadRequest("'sha256' must be the tarball's SHA-256, as 64 lowercase hex digits")
    if size <= 0:
        raise BadRequest("'size' must be the tarball's size in bytes, more than 0")
    if size > platform.settings.max_image_bytes:
        raise PayloadTooLarge(f"'size' must be from 1 byte to this server's limit of "
                              f"{platform.settings.max_image_bytes // 1024**2} MiB")
    platform.upload_dir.mkdir(parents=True, exist_ok=True)
    upload = Upload(id="up-" + secrets.token_hex(10), team_id=team_id, organiser_id=organiser_id if team_id is None
                    else None, size=size, sha256=sha256, received=0)
    part_path(platform, upload.id).touch()
    with platform.transaction() as session:
        session.add(upload)
    return _view(upload)


def _own(session, team_id: int | None, upload_id: str, organiser_id: int | None = None) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.team_id != team_id or (team_id is None and upload.organiser_id != organiser_id):
        raise NotFound(f"no upload {upload_id!r} of your team; start one with POST /api/uploads")
    return upload


def status(platform: Platform, *, team_id: int | None, upload_id: str, organiser_id: int | None = None) -> dict:
    with platform.sessions() as session:
        return _view(_own(session, team_id, upload_id, organiser_id))


def append(platform: Platform, *, team_id: int | None, upload_id: str, offset: int, stream: BinaryIO,
           organiser_id: int | None = None) -> dict:
    """Write the part at `offset`, which must be what the server has received so far."""
    status(platform, team_id=team_id, upload_id=upload_id, organiser_id=organiser_id)  # ownership first
    with _lock(upload_id):
        with platform.sessions() as session:
            upload = _own(session, team_id, upload_id, organiser_id)
        if upload.image_digest is not None:
            raise Conflict("this upload is complete already")
        if offset != upload.received:
            raise Conflict(f"the server has {upload.received} bytes of this upload; send from offset "
                           f"{upload.received}", headers={"Upload-Offset": str(upload.received)})
        written = _write_part(platform, upload, stream)
        with platform.transaction() as session:
            session.execute(update(Upload).where(Upload.id == upload_id).values(received=offset + written))
        upload.received = offset + written
        return _view(upload)


def _write_part(platform: Platform, upload: Upload, stream: BinaryIO) -> int:
    room = min(upload.size - upload.received, MAX_PART_BYTES)
    written = 0
    with part_path(platform, upload.id).open("r+b") as out:
        out.seek(upload.received)
        out.truncate()  # drop bytes a dropped request may have left past the recorded offset
        while chunk := stream.read(CHUNK):
            written += len(chunk)
            if written > room:
                raise PayloadTooLarge(f"this part goes past the declared size or the {MAX_PART_BYTES // 1024**2} "
                                      "MiB part limit; send smaller parts")
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
            raise Conflict(f"the upload has {upload.received} of {upload.size} bytes; send the rest first",
                           headers={"Upload-Offset": str(upload.received)})
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
            session.get(Upload, upload_id).image_digest = image.digest
        upload.image_digest = image.digest
        return _view(upload)


STALE_AFTER = timedelta(hours=24)


def sweep_stale(platform: Platform) -> int:
    """Forget incomplete uploads untouched for a day, and stray partial files of single uploads."""
    cutoff = utcnow() - STALE_AFTER
    with platform.transaction() as session:
        stale = session.scalars(select(Upload).where(Upload.image_digest.is_(None),
                                                     Upload.created_at < cutoff)).all()
        for upload in stale:
            part_path(platform, upload.id).unlink(missing_ok=True)
            session.delete(upload)
    if platform.upload_dir.exists():
        for path in platform.upload_dir.glob("upload-*.tar"):
            if path.stat().st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)
    return len(stale)


def uploaded_by(session, *, team_id: int, image_digest: str) -> bool:
    return session.scalar(select(Upload.id).where(Upload.team_id == team_id,
                                                  Upload.image_digest == image_digest).limit(1)) is not None

