"""Binary assets: staging a job's assets into its memory folder, against a plain copy of the same
files; and the staging process's peak memory as the set grows.

stage_throughput: `arena.services.assets.stage` (decrypt every asset file, one 1 MiB segment at a
time, check its SHA-256 against the manifest, lay out assets/… read-only) against `shutil.copyfile`
of the same plaintext files into the same kind of folder (/dev/shm): the floor any staging pays.
Two shapes: few large files (scans, volumes) and many small ones (thumbnails). Reported as
copy time / Arena time (1.0 would be as fast as a plain copy), alternating the two.

peak_memory: growth of peak resident memory (VmHWM, reset first) while ingesting (encrypting) then
staging sets of two sizes, each in a fresh child process: flat memory means the growth does not
follow the set's size.

upload_scratch: the memory-backed scratch space (/dev/shm, sampled every 5 ms) an upload of
256 MiB of assets takes at its peak: Arena's streaming parser (arena/api/_multipart.py, which
unpacks the tar as it arrives) against Werkzeug's form parser (which spools the whole tar part
first, then it is unpacked beside it), on the same multipart body; and the process's peak memory
growth with each.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from arena import evaluation
from arena.config import load_settings
from arena.db import upgrade
from arena.models import HiddenSet
from arena.runtime import build_platform
from arena.services import accounts, assets
from arena.services.challenges import create_challenge
from bench.hidden_set_bench import _peak_kib, _reset_peak

MIB = 1024**2
SHAPES = {"large": (32, 4 * MIB), "small": (2000, 16 * 1024)}  # files, bytes each


def _bundle(folder: Path, files: int, size: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "challenge.yaml").write_text("slug: pics\ntitle: Pics\nmetric: accuracy\n")
    block = secrets.token_bytes(size)
    with (folder / "inputs.jsonl").open("w") as inputs, (folder / "labels.jsonl").open("w") as labels:
        for i in range(files):
            path = folder / "assets" / f"{i % 50:02d}" / f"{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(i.to_bytes(4, "big") + block[4:])
            inputs.write(f'{{"id": "i{i}", "input": {{"image": "assets/{i % 50:02d}/{i:05d}.bin"}}}}\n')
            labels.write(f'{{"id": "i{i}", "label": "x"}}\n')
    return folder


def _platform(work: Path):
    settings = load_settings(
        overrides={
            "home": work / "home",
            "database_url": f"sqlite:///{work}/arena.db",
            "master_key_file": work / "home" / "master.key",
            "scratch_dir": work / "scratch",
        }
    )
    platform = build_platform(settings)
    upgrade(platform.engine)
    return platform


def _set_up(work: Path, files: int, size: int):
    platform = _platform(work)
    organiser = accounts.create_organiser(platform, name="Bench")[0].id
    made = create_challenge(platform, organiser_id=organiser, bundle_dir=_bundle(work / "bundle", files, size))
    with platform.sessions() as session:
        hidden = session.get(HiddenSet, made.hidden_set_id)
    return platform, hidden, evaluation.open_key(platform, hidden)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _fresh(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/dev/shm"))


def _copy(source: Path) -> None:
    target = _fresh("arena-bench-copy-")
    try:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                dest = target / path.relative_to(source.parent)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
    finally:
        shutil.rmtree(target)


def _stage(platform, hidden, key) -> None:
    target = _fresh("arena-bench-stage-")
    try:
        assets.stage(platform, hidden, key, target)
    finally:
        shutil.rmtree(target)


def bench_stage(shape: str, repeats: int) -> dict:
    files, size = SHAPES[shape]
    with tempfile.TemporaryDirectory(prefix="arena-bench-assets-") as tmp:
        work = Path(tmp)
        platform, hidden, key = _set_up(work, files, size)
        source = work / "bundle" / "assets"
        _copy(source), _stage(platform, hidden, key)  # warm-up
        copied, staged = [], []
        for _ in range(repeats):
            copied.append(_timed(lambda: _copy(source)))
            staged.append(_timed(lambda: _stage(platform, hidden, key)))
    c, s = statistics.median(copied), statistics.median(staged)
    total = files * size
    return {
        "name": f"assets_stage_{shape}",
        "files": files,
        "mib": round(total / MIB, 1),
        "repeats": repeats,
        "baseline": "shutil.copyfile of the plaintext files",
        "baseline_median_s": round(c, 4),
        "arena_median_s": round(s, 4),
        "arena_mib_s": round(total / MIB / s, 1),
        "ratio": round(c / s, 3),
    }


def _measure_peak(files: int, size: int, queue) -> None:
    """Peak memory growth over the child's start: ingest (encrypting the set) and staging."""
    with tempfile.TemporaryDirectory(prefix="arena-bench-peak-") as tmp:
        _reset_peak()
        before = _peak_kib()
        platform, hidden, key = _set_up(Path(tmp), files, size)
        _stage(platform, hidden, key)
        queue.put(_peak_kib() - before)


def bench_peak_memory() -> dict:
    growth = {}
    context = multiprocessing.get_context("fork")
    for files, size in ((16, 4 * MIB), (128, 4 * MIB)):
        queue = context.Queue()
        child = context.Process(target=_measure_peak, args=(files, size, queue))
        child.start()
        growth[files * size // MIB] = queue.get(timeout=600) / 1024
        child.join()
    small, large = sorted(growth)
    return {
        "name": "assets_peak_memory",
        "set_mib": [small, large],
        "growth_mib": [round(growth[small], 1), round(growth[large], 1)],
        "ratio": round(growth[large] / max(growth[small], 0.1), 2),
    }


def _body(source: Path):
    from arena import streams

    entries = [
        streams.file_entry(p.relative_to(source.parent).as_posix(), p) for p in sorted(source.rglob("*")) if p.is_file()
    ]
    return streams.multipart([("assets.tar", streams.tar_length(entries), lambda: streams.tar_chunks(entries))])


def _werkzeug_upload(source: Path, target: Path) -> None:
    from werkzeug.formparser import parse_form_data

    from arena.services.bundles import save_part

    content_type, body = _body(source)
    environ = {
        "wsgi.input": body,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "REQUEST_METHOD": "POST",
    }
    _stream, _form, files = parse_form_data(
        environ, stream_factory=lambda *args, **kwargs: tempfile.TemporaryFile(dir=target.parent)
    )
    for name, storage in files.items():
        save_part(target, name, storage.stream)
        storage.close()


def _arena_upload(source: Path, target: Path) -> None:
    from arena.api._multipart import receive_parts

    content_type, body = _body(source)
    receive_parts(body, content_type, folder=target, allowed={"assets.tar"})


def _peak_scratch(upload, source: Path) -> tuple[float, float]:
    """(peak /dev/shm growth, peak process memory growth), in MiB."""
    target = _fresh("arena-bench-upload-")
    before, peak, stop = shutil.disk_usage("/dev/shm").used, [0], False

    def sample() -> None:
        while not stop:
            peak[0] = max(peak[0], shutil.disk_usage("/dev/shm").used - before)
            time.sleep(0.005)

    import threading

    sampler = threading.Thread(target=sample, daemon=True)
    _reset_peak()
    rss = _peak_kib()
    sampler.start()
    try:
        upload(source, target)
    finally:
        stop = True
        sampler.join()
        shutil.rmtree(target)
    return peak[0] / MIB, (_peak_kib() - rss) / 1024


def bench_upload_scratch() -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-bench-upload-src-") as tmp:
        source = Path(tmp) / "bundle"
        _bundle(source, 64, 4 * MIB)
        _peak_scratch(_arena_upload, source / "assets")  # warm-up
        werkzeug = _peak_scratch(_werkzeug_upload, source / "assets")
        arena = _peak_scratch(_arena_upload, source / "assets")
    return {
        "name": "assets_upload_scratch",
        "mib": 256,
        "baseline": "werkzeug form parser, then unpack",
        "baseline_scratch_mib": round(werkzeug[0], 1),
        "arena_scratch_mib": round(arena[0], 1),
        "baseline_rss_growth_mib": round(werkzeug[1], 1),
        "arena_rss_growth_mib": round(arena[1], 1),
        "ratio": round(werkzeug[0] / arena[0], 2),
    }


def bench_assets(repeats: int) -> list[dict]:
    return [bench_stage("large", repeats), bench_stage("small", repeats), bench_peak_memory(), bench_upload_scratch()]


def print_assets(results: list[dict]) -> None:
    for result in results:
        if result["name"] == "assets_upload_scratch":
            print(
                f"assets upload of {result['mib']} MiB: peak scratch (memory) {result['arena_scratch_mib']} MiB "
                f"streamed vs {result['baseline_scratch_mib']} MiB with Werkzeug's parser (×{result['ratio']} "
                f"less); process memory growth {result['arena_rss_growth_mib']} vs "
                f"{result['baseline_rss_growth_mib']} MiB"
            )
        elif result["name"] == "assets_peak_memory":
            small, large = result["set_mib"]
            print(
                f"assets peak memory, ingest then staging: {result['growth_mib'][0]} MiB for a {small} MiB set, "
                f"{result['growth_mib'][1]} MiB for a {large} MiB set (×{result['ratio']} for 8× the data)"
            )
        else:
            print(
                f"{result['name']}: {result['files']:,} files, {result['mib']} MiB: staged in "
                f"{result['arena_median_s']} s ({result['arena_mib_s']} MiB/s, decrypt + hash check) vs "
                f"plain copy {result['baseline_median_s']} s: ratio {result['ratio']} (1.0 = as fast as a copy)"
            )


if __name__ == "__main__":
    os.environ.setdefault("ARENA_RUNNER", "fake")
    print_assets(bench_assets(3))
