"""Receiving `docker save` tarballs: streamed to disk, hashed as they arrive, checked, stored once."""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import IO

from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, PayloadTooLarge
from arena.files import private_folder, private_open
from arena.models import Image
from arena.runtime import Platform
from sandbox import ImageError, inspect_image_tarball

CHUNK = 1 << 20


def _stream_to(path, stream: IO[bytes], max_bytes: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with private_open(path) as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"the image is larger than this server's limit of {max_bytes // 1024**2} MiB; "
                    "make it smaller (a slimmer base image, fewer layers)"
                )
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise BadRequest("the upload is empty; send the output of `docker save IMAGE`")
    return digest.hexdigest(), size


# What an upload may be built for; each challenge then says which of these it accepts
# (challenge.yaml `platforms`), checked when the image is submitted to it.
ARCHITECTURES = ("amd64", "arm64")


def receive_image(platform: Platform, *, stream: IO[bytes]) -> Image:
    """Store an uploaded image tarball by its SHA-256; returns its row (new or existing)."""
    private_folder(platform.upload_dir)
    private_folder(platform.image_dir)
    partial = platform.upload_dir / f"upload-{secrets.token_hex(8)}.tar"
    try:
        hexdigest, size = _stream_to(partial, stream, platform.settings.max_image_bytes)
        return register_tarball(platform, partial, hexdigest=hexdigest, size=size)
    finally:
        partial.unlink(missing_ok=True)


def register_tarball(platform: Platform, path, *, hexdigest: str, size: int) -> Image:
    """Check a complete tarball and move it into the image store (once per digest)."""
    try:
        checked = inspect_image_tarball(path, architectures=ARCHITECTURES)
    except ImageError as exc:
        raise BadRequest(str(exc)) from None
    private_folder(platform.image_dir)
    final = platform.image_dir / f"{hexdigest}.tar"
    if not final.exists():
        path.replace(final)
    else:
        path.unlink(missing_ok=True)
    return _record(
        platform,
        Image(
            digest=f"sha256:{hexdigest}", image_id=checked.image_id, size_bytes=size, architecture=checked.architecture
        ),
    )


def _record(platform: Platform, image: Image) -> Image:
    with platform.sessions() as session:
        existing = session.get(Image, image.digest)
        if existing is not None:
            return existing
    try:
        with platform.transaction() as session:
            session.add(image)
    except IntegrityError:
        pass  # the same image arrived twice at once: the first row stands
    return image


def image_path(platform: Platform, digest: str):
    return platform.image_dir / f"{digest.removeprefix('sha256:')}.tar"
