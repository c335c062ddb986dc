"""Hidden-set benchmarks: decryption throughput against raw AES-GCM, and peak memory growth.

decrypt_throughput: decrypting a SIZE set from the encrypted store into a memory-backed job folder,
against raw AES-256-GCM decryption of the same bytes, already in memory, in the same 1 MiB
segments (the ceiling: no I/O, no key derivation, no framing). Reported as raw time / Arena time.
A second baseline, writing the same number of plaintext bytes into a new file in the same folder,
shows the floor that any decryption into a file must pay (tmpfs page allocation).

peak_memory: growth of the process's peak resident memory (VmHWM, reset before each step) while
ingesting (encrypting into the store) and while decrypting into the job folder; each step runs in
a fresh child process so nothing earlier counts.
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

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hidden_sets import SEGMENT_SIZE, HiddenSetStore, generate_keyring_file

MIB = 1024**2


def _peak_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _write_plaintext(path: Path, size: int) -> None:
    block = secrets.token_bytes(MIB)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)


def _store(work: Path) -> HiddenSetStore:
    ring_path = work / "master.key"
    from hidden_sets import load_keyring

    ring = load_keyring(path=ring_path) if ring_path.exists() else generate_keyring_file(ring_path)
    return HiddenSetStore(root=work / "sets", keyring=ring)


def _ingest(work: Path, source: Path, queue) -> None:
    store = _store(work)
    key = store.new_data_key()
    _reset_peak()
    before = _peak_kib()
    started = time.perf_counter()
    store.put(set_id="hs-bench", role="inputs", source=source, data_key=key)
    queue.put(
        {
            "seconds": time.perf_counter() - started,
            "growth_kib": _peak_kib() - before,
            "key": (key.id, key.master_key_id, key.wrapped),
        }
    )


def _decrypt(work: Path, dest: Path, key_fields, queue) -> None:
    store = _store(work)
    key = store.open_data_key(key_id=key_fields[0], master_key_id=key_fields[1], wrapped=key_fields[2])
    _reset_peak()
    before = _peak_kib()
    started = time.perf_counter()
    store.decrypt_to(set_id="hs-bench", role="inputs", data_key=key, dest=dest)
    queue.put({"seconds": time.perf_counter() - started, "growth_kib": _peak_kib() - before})
    dest.unlink()


def _in_child(target, *args) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get(timeout=600)
    process.join()
    return result


def _raw_decrypt_seconds(size: int) -> float:
    """Decrypt `size` bytes already in memory with AES-256-GCM, in the same segment size."""
    aead, nonce = AESGCM(secrets.token_bytes(32)), secrets.token_bytes(12)
    sealed = aead.encrypt(nonce, secrets.token_bytes(SEGMENT_SIZE), b"header")
    started = time.perf_counter()
    for _ in range(size // SEGMENT_SIZE):
        aead.decrypt(nonce, sealed, b"header")
    return time.perf_counter() - started


def _plain_write_seconds(size: int, folder: Path) -> float:
    """Write `size` bytes into a new file in the memory-backed folder: the floor for any decrypt."""
    block, path = secrets.token_bytes(SEGMENT_SIZE), folder / "plain.bin"
    started = time.perf_counter()
    with path.open("wb", buffering=0) as out:
        for _ in range(size // SEGMENT_SIZE):
            out.write(block)
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def bench_hidden_sets(size_mib: int = 1024, repeats: int = 3) -> list[dict]:
    size = size_mib * MIB
    disk = Path(tempfile.mkdtemp(prefix="arena-bench-hs-"))
    memory = Path(tempfile.mkdtemp(prefix="arena-bench-job-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        source = disk / "inputs.jsonl"
        _write_plaintext(source, size)
        ingest = _in_child(_ingest, disk, source)
        source.unlink()
        raw, arena, decrypt_growth, plain = [], [], [], []
        for _ in range(repeats):
            raw.append(_raw_decrypt_seconds(size))
            plain.append(_plain_write_seconds(size, memory))
            step = _in_child(_decrypt, disk, memory / "inputs.jsonl", ingest["key"])
            arena.append(step["seconds"])
            decrypt_growth.append(step["growth_kib"])
    finally:
        shutil.rmtree(disk, ignore_errors=True)
        shutil.rmtree(memory, ignore_errors=True)
    r, a, w = statistics.median(raw), statistics.median(arena), statistics.median(plain)
    return [
        {
            "name": "decrypt_throughput",
            "size_mib": size_mib,
            "repeats": repeats,
            "baseline": "raw AES-256-GCM in memory",
            "baseline_median_s": round(r, 3),
            "arena_median_s": round(a, 3),
            "ratio": round(r / a, 3),
            "arena_mib_per_s": round(size_mib / a, 1),
            "goal": ">= 0.7",
            "plain_write_median_s": round(w, 3),
            "ratio_to_plain_write": round(w / a, 3),
        },
        {
            "name": "peak_memory",
            "size_mib": size_mib,
            "ingest_growth_mib": round(ingest["growth_kib"] / 1024, 1),
            "decrypt_growth_mib": round(max(decrypt_growth) / 1024, 1),
            "ingest_seconds": round(ingest["seconds"], 3),
            "goal": "< 64 MiB",
        },
    ]
