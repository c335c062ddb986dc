"""A bundle upload, streamed straight into its folder as it arrives.

Each file part is written as its bytes come; an assets tar (assets.tar, sample/assets.tar) is
unpacked as it comes, through a pipe read by a thread. So an upload of many GB of assets needs
their size once in the memory-backed scratch folder (Werkzeug's own parser would first spool the
whole tar there, then the unpacked files beside it), and the API process's memory stays flat.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO, BinaryIO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from arena.errors import BadRequest
from arena.services.bundles import ASSET_PARTS, unpack_part

CHUNK = 1 << 20
MAX_PARTS = 16
ENDED_EARLY = "the upload ended before its last part, or is not well-formed multipart/form-data; send it again"


class _FileSink:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("wb")

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def close(self) -> None:
        self.handle.close()


class _TarSink:
    """Feeds a pipe that a thread unpacks from; the unpacker's error comes out at close()."""

    def __init__(self, name: str, folder: Path) -> None:
        read, write = os.pipe()
        self._write: int | None = write
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._unpack, args=(os.fdopen(read, "rb"), folder, name), name="arena-unpack", daemon=True
        )
        self._thread.start()

    def _unpack(self, source: BinaryIO, folder: Path, name: str) -> None:
        try:
            with source:
                unpack_part(folder, name, source)
                while source.read(CHUNK):  # the tar's zero padding after its end
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported by close()
            self._error = exc

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._write is not None:
            try:
                view = view[os.write(self._write, view) :]
            except BrokenPipeError:  # the unpacker stopped on an error; close() reports it
                self._close_pipe()

    def _close_pipe(self) -> None:
        if self._write is not None:
            os.close(self._write)
            self._write = None

    def close(self) -> None:
        self._close_pipe()
        self._thread.join()
        if self._error is not None:
            raise self._error


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise BadRequest("send the bundle as multipart/form-data, one file part per file")
    return options["boundary"].encode("latin-1")


def receive_parts(stream: IO[bytes], content_type: str | None, *, folder: Path, allowed: set[str]) -> list[str]:
    """Write the file parts of a multipart body into `folder` (assets tars unpacked); returns the
    part names. Raises BadRequest for an unexpected or repeated part, a form field, or a body
    that ends early; the caller removes `folder` on any error."""
    # The decoder keeps only what it has not yet handed out (a part's headers, a boundary's start):
    # a few chunks at most, unless the body is malformed, which the cap then refuses.
    decoder = MultipartDecoder(_boundary(content_type), max_form_memory_size=4 * CHUNK, max_parts=MAX_PARTS)
    sink, done = None, False
    seen: list[str] = []
    try:
        while not done:
            chunk = stream.read(CHUNK)
            decoder.receive_data(chunk or None)
            while not isinstance(event := _next(decoder), NeedData):
                if isinstance(event, Epilogue):
                    done = True
                    break
                sink = _on_event(event, sink, seen, folder, allowed)
            if not chunk and not done:
                raise BadRequest(ENDED_EARLY)
    finally:
        if sink is not None:
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - already failing; the first error is the one to tell
                pass
    return seen


def _next(decoder: MultipartDecoder):
    try:
        return decoder.next_event()
    except ValueError:  # the body ended inside a part, or is not multipart past some point
        raise BadRequest(ENDED_EARLY) from None


def _on_event(event, sink, seen: list[str], folder: Path, allowed: set[str]):
    if isinstance(event, Field):
        raise BadRequest(f"unexpected form field {event.name[:80]!r}; send files only")
    if isinstance(event, File):
        if event.name not in allowed:
            raise BadRequest(f"unexpected file(s) {event.name[:80]}; send {', '.join(sorted(allowed))}")
        if event.name in seen:
            raise BadRequest(f"{event.name} was sent twice")
        seen.append(event.name)
        if event.name in ASSET_PARTS:
            return _TarSink(event.name, folder)
        return _FileSink(folder / event.name)
    if isinstance(event, Data) and sink is not None:
        sink.write(event.data)
        if not event.more_data:
            sink.close()
            return None
    return sink
